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
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	// Token, when not empty, is the bearer token that unlocks the detailed
	// endpoint's details; without it callers see each check's status only.
	Token string
	// Log, when set, receives each failed check's whole error.
	Log *slog.Logger

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
			res := c.runOne(ctx, nc.name, nc.check)
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
func (c *Checker) runOne(ctx context.Context, name string, check Check) Result {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				errc <- errPanicked
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
	if c.Log != nil {
		// The whole error goes to the log, for operators; callers get Describe's text.
		c.Log.Warn("health check failed", "check", name, "error", err.Error())
	}
	return Result{Status: statusError, LatencyMS: latency, Message: Describe(err)}
}

// Describe names what went wrong in words chosen here, never the driver's
// text, which quotes host names, addresses and user names: an error code the
// server sent (SQLSTATE, Redis error prefix) or the kind of failure.
func Describe(err error) string {
	var sqlState interface{ SQLState() string }
	if errors.As(err, &sqlState) {
		code := sqlState.SQLState()
		switch {
		case strings.HasPrefix(code, "28"):
			return "authentication failed (SQLSTATE " + code + ")"
		case code == "3D000":
			return "database does not exist (SQLSTATE " + code + ")"
		case code == "57P03":
			return "database is starting up (SQLSTATE " + code + ")"
		}
		return "database error (SQLSTATE " + code + ")"
	}
	var redisErr interface {
		error
		RedisError()
	}
	if errors.As(err, &redisErr) {
		prefix, _, _ := strings.Cut(redisErr.Error(), " ")
		switch prefix {
		case "WRONGPASS", "NOAUTH", "NOPERM":
			return "authentication failed (" + prefix + ")"
		}
		if isUpperWord(prefix) {
			return "command refused (" + prefix + ")"
		}
		return "command refused"
	}
	var certErr *tls.CertificateVerificationError
	var alert tls.AlertError
	var recordErr tls.RecordHeaderError
	if errors.As(err, &certErr) || errors.As(err, &alert) || errors.As(err, &recordErr) ||
		strings.Contains(err.Error(), "tls: ") || strings.Contains(err.Error(), "x509: ") {
		return "TLS handshake failed"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "host name not found"
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "connection refused"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection failed"
	}
	if errors.Is(err, errPanicked) {
		return errPanicked.Error()
	}
	return "check failed"
}

func isUpperWord(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

var errPanicked = errors.New("check panicked")

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

// publicCheck is a check in the detailed endpoint's public view.
type publicCheck struct {
	Status string `json:"status"`
}

// publicReport is the detailed endpoint's body for callers without the token.
type publicReport struct {
	Status string                 `json:"status"`
	Checks map[string]publicCheck `json:"checks"`
}

// Detailed answers internal monitoring: every caller gets the overall status
// and each check's status (200, or 503 when one fails); only a request with
// `Authorization: Bearer <Token>` also gets latencies, messages, version,
// uptime and timestamp. A wrong token gets the public view, not a 401; with
// no Token configured nobody gets details.
func (c *Checker) Detailed(w http.ResponseWriter, r *http.Request) {
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
	if !c.authorized(r) {
		checks := make(map[string]publicCheck, len(results))
		for name, res := range results {
			checks[name] = publicCheck{Status: res.Status}
		}
		writeJSON(w, code, publicReport{Status: status, Checks: checks})
		return
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
	if c.Token == "" {
		return false
	}
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
