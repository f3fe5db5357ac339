package kit

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Sample is one series of a Prometheus text exposition.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Metrics is one scrape of a /metrics endpoint.
type Metrics []Sample

// scrapeClient opens a connection per scrape, so scraping leaves no idle
// connection (and no goroutine serving it) in the process it measures.
var scrapeClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// Scrape fetches url (an admin listener's /metrics) and parses it. It fails
// the test on anything but a 200 with a parsable body.
func Scrape(t testing.TB, url string) Metrics {
	t.Helper()
	m, err := ScrapeErr(url)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ScrapeErr is Scrape, returning the error instead of failing the test.
func ScrapeErr(url string) (Metrics, error) {
	resp, err := scrapeClient.Get(url)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %d: %.200s", url, resp.StatusCode, body)
	}
	return ParseMetrics(string(body))
}

// ParseMetrics reads the Prometheus text format with the Prometheus
// library's own parser (expfmt), and flattens each family into the series
// the text holds: a histogram into its _bucket (with le), _sum and _count
// series, a summary into its quantiles, _sum and _count.
func ParseMetrics(text string) (Metrics, error) {
	if !strings.HasSuffix(text, "\n") {
		text += "\n" // the parser wants every line ended
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	var out Metrics
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			with := func(k, v string) map[string]string {
				c := maps.Clone(labels)
				c[k] = v
				return c
			}
			switch {
			case m.GetHistogram() != nil:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					out = append(out, Sample{name + "_bucket", with("le", formatFloat(b.GetUpperBound())), float64(b.GetCumulativeCount())})
				}
				out = append(out, Sample{name + "_sum", labels, h.GetSampleSum()}, Sample{name + "_count", labels, float64(h.GetSampleCount())})
			case m.GetSummary() != nil:
				sm := m.GetSummary()
				for _, q := range sm.GetQuantile() {
					out = append(out, Sample{name, with("quantile", formatFloat(q.GetQuantile())), q.GetValue()})
				}
				out = append(out, Sample{name + "_sum", labels, sm.GetSampleSum()}, Sample{name + "_count", labels, float64(sm.GetSampleCount())})
			case m.GetCounter() != nil:
				out = append(out, Sample{name, labels, m.GetCounter().GetValue()})
			case m.GetGauge() != nil:
				out = append(out, Sample{name, labels, m.GetGauge().GetValue()})
			default:
				out = append(out, Sample{name, labels, m.GetUntyped().GetValue()})
			}
		}
	}
	return out, nil
}

// formatFloat writes a bucket bound or quantile as the text format does.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Sum adds up the series called name whose labels include every given
// pair (labels alternate name and value); zero when there is none.
func (m Metrics) Sum(name string, labels ...string) float64 {
	var total float64
	for _, s := range m {
		if s.Name == name && s.matches(labels) {
			total += s.Value
		}
	}
	return total
}

// Has reports whether a series called name exists at all.
func (m Metrics) Has(name string) bool {
	for _, s := range m {
		if s.Name == name {
			return true
		}
	}
	return false
}

func (s Sample) matches(labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		if s.Labels[labels[i]] != labels[i+1] {
			return false
		}
	}
	return true
}
