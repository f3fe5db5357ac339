package deploy_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// TestProbePathsAreServedOnTheAdminListener serves gatepass in process and
// asks its admin listener for every path the manifests point the kubelet and
// Prometheus at.
func TestProbePathsAreServedOnTheAdminListener(t *testing.T) {
	t.Parallel()
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

	p := inproc.Serve(t, map[string]string{"APP_ENV": "development"})
	client := &http.Client{Timeout: 2 * time.Second}
	for _, path := range sortedKeys(paths) {
		wait := time.Duration(0)
		if paths[path] {
			wait = 10 * time.Second // readiness follows the start-up checks
		}
		status, body := getUntilOK(t, client, p.AdminURL+path, wait)
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
func getUntilOK(t *testing.T, client *http.Client, url string, wait time.Duration) (status int, body string) {
	t.Helper()
	kit.Eventually(wait, 100*time.Millisecond, func() bool {
		status, body = 0, ""
		resp, err := client.Get(url)
		if err != nil {
			body = err.Error()
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, body = resp.StatusCode, string(b)
		return status == http.StatusOK
	})
	return status, body
}
