// Package metrics counts HTTP requests and writes them in the Prometheus text
// exposition format (version 0.0.4) with nothing but the standard library.
package metrics

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Buckets are the latency histogram's upper bounds in seconds (Prometheus' defaults).
var Buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type seriesKey struct {
	method, route string
	status        int
}

type histogramKey struct {
	method, route string
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative; the writer sums them
	sum    float64
	count  uint64
}

// Registry holds the request metrics. Its methods are safe for concurrent use.
type Registry struct {
	mu        sync.Mutex
	requests  map[seriesKey]uint64
	errors    map[seriesKey]uint64
	durations map[histogramKey]*histogram
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{
		requests:  map[seriesKey]uint64{},
		errors:    map[seriesKey]uint64{},
		durations: map[histogramKey]*histogram{},
	}
}

// Observe records one finished request. route must be the matched route
// pattern, never the raw path, so the number of series stays bounded.
func (r *Registry) Observe(method, route string, status int, elapsed time.Duration) {
	method = normalizeMethod(method)
	key := seriesKey{method, route, status}
	seconds := elapsed.Seconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests[key]++
	if status >= 500 {
		r.errors[key]++
	}
	h := r.durations[histogramKey{method, route}]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(Buckets))}
		r.durations[histogramKey{method, route}] = h
	}
	if i, _ := slices.BinarySearch(Buckets, seconds); i < len(Buckets) {
		h.counts[i]++
	}
	h.sum += seconds
	h.count++
}

// WriteTo writes every metric in the Prometheus text format, series sorted so
// that the output is stable.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	r.mu.Lock()
	writeCounter(&b, RequestsTotal, "Total HTTP requests by method, route and status.", r.requests)
	writeHistogram(&b, r.durations)
	writeCounter(&b, ErrorsTotal, "HTTP requests answered with a 5xx status, by method, route and status.", r.errors)
	r.mu.Unlock()
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// ServeHTTP answers a scrape.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = r.WriteTo(w)
}

func writeCounter(b *strings.Builder, name, help string, series map[seriesKey]uint64) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	keys := make([]seriesKey, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b seriesKey) int {
		if c := strings.Compare(a.method+"\x00"+a.route, b.method+"\x00"+b.route); c != 0 {
			return c
		}
		return a.status - b.status
	})
	for _, k := range keys {
		labels := "method=" + quote(k.method) + ",route=" + quote(k.route) + ",status=" + quote(strconv.Itoa(k.status))
		writeSample(b, name, labels, strconv.FormatUint(series[k], 10))
	}
}

func writeHistogram(b *strings.Builder, series map[histogramKey]*histogram) {
	name := RequestDuration
	fmt.Fprintf(b, "# HELP %s HTTP request latency in seconds, by method and route.\n# TYPE %s histogram\n", name, name)
	keys := make([]histogramKey, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b histogramKey) int {
		return strings.Compare(a.method+"\x00"+a.route, b.method+"\x00"+b.route)
	})
	for _, k := range keys {
		h := series[k]
		labels := "method=" + quote(k.method) + ",route=" + quote(k.route)
		var cumulative uint64
		for i, upper := range Buckets {
			cumulative += h.counts[i]
			writeSample(b, name+"_bucket", labels+`,le="`+formatFloat(upper)+`"`, strconv.FormatUint(cumulative, 10))
		}
		writeSample(b, name+"_bucket", labels+`,le="+Inf"`, strconv.FormatUint(h.count, 10))
		writeSample(b, name+"_sum", labels, formatFloat(h.sum))
		writeSample(b, name+"_count", labels, strconv.FormatUint(h.count, 10))
	}
}

// writeSample writes one line: name{labels} value.
func writeSample(b *strings.Builder, name, labels, value string) {
	b.WriteString(name)
	b.WriteByte('{')
	b.WriteString(labels)
	b.WriteString("} ")
	b.WriteString(value)
	b.WriteByte('\n')
}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// quote writes a label value with the escapes the text format defines
// (backslash, double quote and line feed), which differ from Go's %q.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// normalizeMethod keeps client-chosen methods from creating unbounded series.
func normalizeMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}
