package deploy_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/kit"
)

// TestProbePathsAreServedOnTheAdminListener starts the real binary and asks
// its admin listener for every path the manifests point the kubelet and
// Prometheus at.
func TestProbePathsAreServedOnTheAdminListener(t *testing.T) {
	dep, c := app(t, applied(t))
	paths := map[string]bool{} // path -> may take a moment to turn 200
	for _, p := range []*probe{c.StartupProbe, c.LivenessProbe} {
		if p != nil && p.HTTPGet != nil {
			paths[p.HTTPGet.Path] = false
		}
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil {
		t.Fatal("no httpGet readiness probe")
	}
	paths[c.ReadinessProbe.HTTPGet.Path] = true
	metricsPath := dep.Spec.Template.Metadata.Annotations["prometheus.io/path"]
	if metricsPath != "" {
		paths[metricsPath] = false
	}

	admin := kit.FreeAddr(t)
	p := kit.Start(t, map[string]string{
		"APP_ENV":    "development",
		"DEV_DIR":    t.TempDir(),
		"ADMIN_ADDR": admin,
	})
	client := &http.Client{Timeout: 2 * time.Second}
	for _, path := range sortedKeys(paths) {
		wait := time.Duration(0)
		if paths[path] {
			wait = 10 * time.Second // readiness follows the start-up checks
		}
		status, body := getUntilOK(t, client, "http://"+admin+path, wait)
		if status != http.StatusOK {
			t.Errorf("admin %s answered %d, want 200: %.200s\nlogs:\n%s", path, status, body, p.Logs())
		}
		if path == metricsPath && !strings.Contains(body, "# TYPE ") {
			t.Errorf("admin %s is not Prometheus text: %.200s", path, body)
		}
	}

	// Metrics stay off the public listener the Service's "http" port serves.
	if metricsPath != "" {
		if status, _ := getUntilOK(t, client, p.URL+metricsPath, 0); status == http.StatusOK {
			t.Errorf("the public listener serves %s; metrics belong on the admin listener only", metricsPath)
		}
	}
}

// getUntilOK GETs url until it answers 200 or wait has passed, and returns
// the last answer (status 0 when nothing answered).
func getUntilOK(t *testing.T, client *http.Client, url string, wait time.Duration) (int, string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		status, body := 0, ""
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			status, body = resp.StatusCode, string(b)
		} else {
			body = err.Error()
		}
		if status == http.StatusOK || time.Now().After(deadline) {
			return status, body
		}
		time.Sleep(100 * time.Millisecond)
	}
}
