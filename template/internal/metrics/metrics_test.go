package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

func TestRequestCountersErrorsAndHistogram(t *testing.T) {
	r := New()
	r.Observe("GET", "/health", 200, 3*time.Millisecond)
	r.Observe("GET", "/health", 200, 30*time.Millisecond)
	r.Observe("POST", "/orders", 503, time.Second)
	text := scrape(t, r)
	for _, want := range []string{
		"# TYPE " + RequestsTotal + " counter",
		"# TYPE " + RequestDuration + " histogram",
		"# TYPE " + ErrorsTotal + " counter",
		RequestsTotal + `{method="GET",route="/health",status="200"} 2`,
		RequestsTotal + `{method="POST",route="/orders",status="503"} 1`,
		ErrorsTotal + `{method="POST",route="/orders",status="503"} 1`,
		RequestDuration + `_bucket{method="GET",route="/health",le="0.005"} 1`,
		RequestDuration + `_bucket{method="GET",route="/health",le="+Inf"} 2`,
		RequestDuration + `_count{method="POST",route="/orders"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, ErrorsTotal+`{method="GET"`) {
		t.Error("a 200 was counted as an error")
	}
}

func TestRuntimeAndProcessMetricsAreExported(t *testing.T) {
	text := scrape(t, New())
	for _, want := range []string{"go_goroutines ", "go_memstats_heap_alloc_bytes ", "process_resident_memory_bytes ", "process_cpu_seconds_total "} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q", want)
		}
	}
}

func TestUnknownMethodsShareOneSeries(t *testing.T) {
	r := New()
	for _, m := range []string{"BREW", "PROPFIND", "X-RANDOM"} {
		r.Observe(m, "unmatched", 405, time.Millisecond)
	}
	text := scrape(t, r)
	if !strings.Contains(text, RequestsTotal+`{method="OTHER",route="unmatched",status="405"} 3`) {
		t.Errorf("unknown methods not folded into OTHER:\n%s", text)
	}
	if strings.Contains(text, "BREW") {
		t.Error("a client-chosen method became a label value")
	}
}
