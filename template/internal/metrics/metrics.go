// Package metrics exports the service's Prometheus metrics with the official
// client: the request metrics of the health contract, plus the Go runtime
// (go_*) and process (process_*) collectors.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
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
	// series caches each label combination's children: looking them up by
	// label values hashes every value on every request, the hottest path.
	series sync.Map // seriesKey -> *series
}

type seriesKey struct {
	method, route string
	status        int
}

type series struct {
	requests prometheus.Counter
	errors   prometheus.Counter // nil below 500
	duration prometheus.Observer
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
	key := seriesKey{normalizeMethod(method), route, status}
	found, ok := r.series.Load(key)
	if !ok {
		found, _ = r.series.LoadOrStore(key, r.newSeries(key))
	}
	s := found.(*series)
	s.requests.Inc()
	if s.errors != nil {
		s.errors.Inc()
	}
	s.duration.Observe(elapsed.Seconds())
}

func (r *Registry) newSeries(k seriesKey) *series {
	code := strconv.Itoa(k.status)
	s := &series{
		requests: r.requests.WithLabelValues(k.method, k.route, code),
		duration: r.duration.WithLabelValues(k.method, k.route),
	}
	if k.status >= 500 {
		s.errors = r.errors.WithLabelValues(k.method, k.route, code)
	}
	return s
}

// Expect creates a route's error series at zero, so that error-rate alerts
// and dashboards see 0 instead of no data before the first failure.
func (r *Registry) Expect(method, route string) {
	r.errors.WithLabelValues(normalizeMethod(method), route, strconv.Itoa(http.StatusInternalServerError))
}

// ServeHTTP answers a scrape.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.handler.ServeHTTP(w, req)
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
