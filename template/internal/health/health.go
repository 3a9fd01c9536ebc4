// Package health implements the service's health contract: liveness,
// readiness and a detailed report built from registered dependency checks.
//
// Register the app's own checks next to the built-in ones:
//
//	checker.Register("search", func(ctx context.Context) error { return client.Ping(ctx) })
//
// A check returns nil when the dependency works. It must honour ctx: every
// check runs concurrently under its own timeout, and a check that overruns is
// reported as failed at the deadline whether or not it has returned.
package health

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Check reports whether one dependency works.
type Check func(ctx context.Context) error

// Result is the outcome of one check.
type Result struct {
	Status    string  `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	Message   string  `json:"message,omitempty"`
}

// OK reports whether the check passed.
func (r Result) OK() bool { return r.Status == statusOK }

const (
	statusOK           = "ok"
	statusError        = "error"
	statusDegraded     = "degraded"
	statusUnavailable  = "unavailable"
	statusShuttingDown = "shutting_down"
)

type namedCheck struct {
	name  string
	check Check
}

// run is one execution of every check, shared by the requests that arrive
// while it is in flight.
type run struct {
	done    chan struct{}
	results map[string]Result
}

// readiness is the body of the readiness endpoint.
type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// report is the body of the detailed endpoint.
type report struct {
	Status    string            `json:"status"`
	Timestamp string            `json:"timestamp"`
	Version   string            `json:"version"`
	Uptime    float64           `json:"uptime"` // seconds
	Checks    map[string]Result `json:"checks"`
}

// Checker holds the registered checks and the service's lifecycle state.
type Checker struct {
	// Timeout bounds each check.
	Timeout time.Duration
	// Version is reported by the detailed endpoint.
	Version string
	// Token, when not empty, is the bearer token the detailed endpoint requires.
	Token string

	mu           sync.Mutex
	checks       []namedCheck
	inflight     *run
	started      time.Time
	shuttingDown atomic.Bool
	now          func() time.Time
}

// New returns a Checker with no checks registered.
func New(timeout time.Duration, version, token string) *Checker {
	return &Checker{Timeout: timeout, Version: version, Token: token, started: time.Now(), now: time.Now}
}

// Register adds a named check. Names appear in the readiness and detailed
// reports; registering a name twice replaces the earlier check.
func (c *Checker) Register(name string, check Check) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.checks {
		if c.checks[i].name == name {
			c.checks[i].check = check
			return
		}
	}
	c.checks = append(c.checks, namedCheck{name, check})
}

// StartShutdown turns readiness to 503 for good: called on SIGTERM so load
// balancers stop routing here while in-flight requests finish.
func (c *Checker) StartShutdown() { c.shuttingDown.Store(true) }

// ShuttingDown reports whether StartShutdown was called.
func (c *Checker) ShuttingDown() bool { return c.shuttingDown.Load() }

// Run executes every check concurrently, each bounded by Timeout. Callers that
// arrive while a run is in flight wait for it instead of starting another, so
// a burst of probes costs the dependencies one round of checks.
func (c *Checker) Run(ctx context.Context) map[string]Result {
	c.mu.Lock()
	if r := c.inflight; r != nil {
		c.mu.Unlock()
		return wait(ctx, r)
	}
	r := &run{done: make(chan struct{})}
	c.inflight = r
	checks := append([]namedCheck(nil), c.checks...)
	c.mu.Unlock()

	// Detached from the first caller: its disconnect must not fail the others.
	go func() {
		r.results = c.runAll(context.WithoutCancel(ctx), checks)
		c.mu.Lock()
		c.inflight = nil
		c.mu.Unlock()
		close(r.done)
	}()
	return wait(ctx, r)
}

func wait(ctx context.Context, r *run) map[string]Result {
	select {
	case <-r.done:
		return r.results
	case <-ctx.Done():
		return nil
	}
}

func (c *Checker) runAll(ctx context.Context, checks []namedCheck) map[string]Result {
	results := make(map[string]Result, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, nc := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := c.runOne(ctx, nc.check)
			mu.Lock()
			results[nc.name] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	return results
}

// runOne runs a check under the timeout. The check runs in its own goroutine
// so that one ignoring its context still costs the caller no more than Timeout.
func (c *Checker) runOne(ctx context.Context, check Check) Result {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				errc <- errors.New("check panicked")
			}
		}()
		errc <- check(ctx)
	}()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = ctx.Err()
	}
	latency := math.Round(float64(time.Since(start).Microseconds())/10) / 100
	if err == nil {
		return Result{Status: statusOK, LatencyMS: latency}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Result{Status: statusError, LatencyMS: latency, Message: "timed out after " + c.Timeout.String()}
	}
	return Result{Status: statusError, LatencyMS: latency, Message: err.Error()}
}

// liveBody is encoded once: liveness is the hottest path of the service.
var liveBody = []byte(`{"status":"ok"}` + "\n")

// Live answers the liveness probe: the process is serving. It never checks dependencies.
func (c *Checker) Live(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(liveBody)
}

// Ready answers the readiness probe: 200 when every check passes, 503 when one
// fails or once shutdown has begun.
func (c *Checker) Ready(w http.ResponseWriter, r *http.Request) {
	if c.ShuttingDown() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": statusShuttingDown})
		return
	}
	results := c.Run(r.Context())
	if results == nil { // the client went away
		return
	}
	status, code := statusOK, http.StatusOK
	checks := make(map[string]string, len(results))
	for name, res := range results {
		checks[name] = res.Status
		if !res.OK() {
			status, code = statusUnavailable, http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, readiness{Status: status, Checks: checks})
}

// Detailed answers internal monitoring with every check's status and latency.
// When a token is configured it requires `Authorization: Bearer <token>`.
func (c *Checker) Detailed(w http.ResponseWriter, r *http.Request) {
	if c.Token != "" && !c.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="health"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"status": "unauthorized"})
		return
	}
	results := c.Run(r.Context())
	if results == nil {
		return
	}
	status, code := statusOK, http.StatusOK
	for _, res := range results {
		if !res.OK() {
			status, code = statusDegraded, http.StatusServiceUnavailable
		}
	}
	version := c.Version
	if version == "" {
		version = "unknown"
	}
	now := c.now()
	writeJSON(w, code, report{
		Status:    status,
		Timestamp: now.UTC().Format(time.RFC3339Nano),
		Version:   version,
		Uptime:    math.Round(now.Sub(c.started).Seconds()*1000) / 1000,
		Checks:    results,
	})
}

// authorized compares the bearer token in constant time. Hashing both sides
// first keeps the comparison from leaking the token's length.
func (c *Checker) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	want := sha256.Sum256([]byte(c.Token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
