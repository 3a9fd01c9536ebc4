package metrics

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape returns the exposition text and its samples by series ("name{labels}").
func scrape(t *testing.T, r *Registry) (string, map[string]float64) {
	t.Helper()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q", ct)
	}
	text := rec.Body.String()
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		samples[line[:i]] = v
	}
	return text, samples
}

func TestHelpAndTypeLines(t *testing.T) {
	text, _ := scrape(t, New())
	for _, want := range []string{
		"# TYPE " + RequestsTotal + " counter\n",
		"# TYPE " + RequestDuration + " histogram\n",
		"# TYPE " + ErrorsTotal + " counter\n",
		"# HELP " + RequestsTotal + " ",
		"# HELP " + RequestDuration + " ",
		"# HELP " + ErrorsTotal + " ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if !strings.HasSuffix(text, "\n") {
		t.Error("the exposition must end with a line feed")
	}
}

func TestCountersAndHistogram(t *testing.T) {
	r := New()
	r.Observe("GET", "/health", 200, 3*time.Millisecond)
	r.Observe("GET", "/health", 200, 30*time.Millisecond)
	r.Observe("GET", "/health", 200, 20*time.Second) // beyond the last bucket
	r.Observe("GET", "/orders/{id}", 503, 100*time.Millisecond)
	_, s := scrape(t, r)

	if got := s[RequestsTotal+`{method="GET",route="/health",status="200"}`]; got != 3 {
		t.Errorf("requests for /health = %v, want 3", got)
	}
	if got := s[ErrorsTotal+`{method="GET",route="/orders/{id}",status="503"}`]; got != 1 {
		t.Errorf("errors for /orders/{id} = %v, want 1", got)
	}
	if _, ok := s[ErrorsTotal+`{method="GET",route="/health",status="200"}`]; ok {
		t.Error("a 200 was counted as an error")
	}

	bucket := func(le string) float64 {
		return s[RequestDuration+`_bucket{method="GET",route="/health",le="`+le+`"}`]
	}
	want := map[string]float64{"0.005": 1, "0.01": 1, "0.025": 1, "0.05": 2, "5": 2, "10": 2, "+Inf": 3}
	for le, n := range want {
		if got := bucket(le); got != n {
			t.Errorf("bucket le=%s = %v, want %v (buckets are cumulative)", le, got, n)
		}
	}
	prev := -1.0
	for _, upper := range Buckets {
		got := bucket(strconv.FormatFloat(upper, 'g', -1, 64))
		if got < prev {
			t.Errorf("bucket le=%v = %v is below the previous bucket %v", upper, got, prev)
		}
		prev = got
	}
	if got := s[RequestDuration+`_count{method="GET",route="/health"}`]; got != 3 {
		t.Errorf("_count = %v, want 3", got)
	}
	sum := s[RequestDuration+`_sum{method="GET",route="/health"}`]
	if sum < 20.032 || sum > 20.034 {
		t.Errorf("_sum = %v, want 20.033", sum)
	}
}

func TestAnObservationOnABucketBoundaryCountsInIt(t *testing.T) {
	r := New()
	r.Observe("GET", "/", 200, 100*time.Millisecond)
	_, s := scrape(t, r)
	if got := s[RequestDuration+`_bucket{method="GET",route="/",le="0.1"}`]; got != 1 {
		t.Errorf("le=0.1 = %v, want 1 (le means less than or equal)", got)
	}
}

func TestLabelValuesAreEscaped(t *testing.T) {
	r := New()
	r.Observe("GET", "/a\"b\\c\nd", 200, time.Millisecond)
	text, _ := scrape(t, r)
	if !strings.Contains(text, `route="/a\"b\\c\nd"`) {
		t.Errorf("route label not escaped:\n%s", text)
	}
}

func TestUnknownMethodsShareOneSeries(t *testing.T) {
	r := New()
	r.Observe("BREW", "unmatched", 405, time.Millisecond)
	r.Observe("PROPFIND", "unmatched", 405, time.Millisecond)
	_, s := scrape(t, r)
	if got := s[RequestsTotal+`{method="OTHER",route="unmatched",status="405"}`]; got != 2 {
		t.Errorf("OTHER = %v, want 2", got)
	}
}
