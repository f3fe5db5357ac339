package kit

import "testing"

func TestParseMetrics(t *testing.T) {
	text := `# HELP gatepass_grants_total Grant requests.
# TYPE gatepass_grants_total counter
gatepass_grants_total{kind="office",result="issued"} 7
gatepass_grants_total{kind="office",result="rate_limited"} 2
gatepass_grants_total{kind="realtime",result="issued"} 3
go_goroutines 12
odd{detail="a \"quoted\" } brace, and a\\ slash"} 1.5e+06 1700000000000
# TYPE latency_seconds histogram
latency_seconds_bucket{route="/a",le="0.1"} 1
latency_seconds_bucket{route="/a",le="+Inf"} 3
latency_seconds_sum{route="/a"} 0.5
latency_seconds_count{route="/a"} 3
`
	m, err := ParseMetrics(text)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{name: "one series", metric: "gatepass_grants_total", labels: []string{"kind", "office", "result", "issued"}, want: 7},
		{name: "sum over a label", metric: "gatepass_grants_total", labels: []string{"kind", "office"}, want: 9},
		{name: "every series", metric: "gatepass_grants_total", want: 12},
		{name: "no labels", metric: "go_goroutines", want: 12},
		{name: "escaped label value and a timestamp", metric: "odd", labels: []string{"detail", `a "quoted" } brace, and a\ slash`}, want: 1.5e6},
		{name: "absent", metric: "gatepass_rate_limiter_errors_total", want: 0},
		{name: "a histogram's count", metric: "latency_seconds_count", labels: []string{"route", "/a"}, want: 3},
		{name: "a histogram's buckets, +Inf once", metric: "latency_seconds_bucket", labels: []string{"route", "/a"}, want: 4},
		{name: "a histogram's bucket by bound", metric: "latency_seconds_bucket", labels: []string{"le", "0.1"}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Sum(tt.metric, tt.labels...); got != tt.want {
				t.Errorf("Sum(%s, %v) = %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
	if !m.Has("go_goroutines") || m.Has("go_threads") {
		t.Error("Has does not tell present from absent series")
	}
	for _, bad := range []string{`x{a="b"`, `x{a=b} 1`, `x 1 2 3`, `x abc`, `{a="b"} 1`} {
		if _, err := ParseMetrics(bad); err == nil {
			t.Errorf("ParseMetrics(%q) succeeded", bad)
		}
	}
}
