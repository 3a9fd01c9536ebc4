// Package metrics exports the service's Prometheus metrics with the official
// client: the request metrics of the health contract, plus the Go runtime
// (go_*) and process (process_*) collectors.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds the service's metrics. Register the app's own with
// Registry.MustRegister. Its methods are safe for concurrent use.
type Registry struct {
	*prometheus.Registry
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
}

// New returns a registry with the request metrics and the Go and process collectors.
func New() *Registry {
	r := &Registry{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RequestsTotal, Help: "Total HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ErrorsTotal, Help: "HTTP requests answered with a 5xx status, by method, route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: RequestDuration, Help: "HTTP request latency in seconds, by method and route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
	r.MustRegister(
		r.requests, r.errors, r.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	r.handler = promhttp.HandlerFor(r.Registry, promhttp.HandlerOpts{})
	return r
}

// Observe records one finished request. route must be the matched route
// pattern, never the raw path, so the number of series stays bounded.
func (r *Registry) Observe(method, route string, status int, elapsed time.Duration) {
	method = normalizeMethod(method)
	code := statusText(status)
	r.requests.WithLabelValues(method, route, code).Inc()
	if status >= 500 {
		r.errors.WithLabelValues(method, route, code).Inc()
	}
	r.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
}

// ServeHTTP answers a scrape.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.handler.ServeHTTP(w, req)
}

// statusCodes spells the common statuses once instead of formatting them per request.
var statusCodes = func() map[int]string {
	m := map[int]string{}
	for code := 100; code < 600; code++ {
		m[code] = strconv.Itoa(code)
	}
	return m
}()

func statusText(status int) string {
	if s, ok := statusCodes[status]; ok {
		return s
	}
	return strconv.Itoa(status)
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
