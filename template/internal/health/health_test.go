package health

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func ok(context.Context) error { return nil }

func get(t *testing.T, h http.HandlerFunc, header string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	rec := httptest.NewRecorder()
	h(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not JSON: %q", rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	return rec.Code, body
}

func TestLivenessNeverRunsChecks(t *testing.T) {
	c := New(time.Second, "1.0.0", "")
	c.Register("db", func(context.Context) error {
		t.Error("liveness ran a dependency check")
		return nil
	})
	code, body := get(t, c.Live, "")
	if code != http.StatusOK || body["status"] != "ok" || len(body) != 1 {
		t.Fatalf("got %d %v", code, body)
	}
	c.StartShutdown()
	if code, _ := get(t, c.Live, ""); code != http.StatusOK {
		t.Fatalf("liveness during shutdown = %d, want 200", code)
	}
}

func TestReadyWhenEveryCheckPasses(t *testing.T) {
	c := New(time.Second, "", "")
	c.Register("postgres", ok)
	c.Register("redis", ok)
	code, body := get(t, c.Ready, "")
	if code != http.StatusOK || body["status"] != "ok" {
		t.Fatalf("got %d %v", code, body)
	}
	checks := body["checks"].(map[string]any)
	if checks["postgres"] != "ok" || checks["redis"] != "ok" {
		t.Fatalf("checks = %v", checks)
	}
}

func TestNotReadyWhenOneCheckFails(t *testing.T) {
	c := New(time.Second, "", "")
	c.Register("postgres", ok)
	c.Register("redis", func(context.Context) error { return errors.New("connection refused") })
	code, body := get(t, c.Ready, "")
	if code != http.StatusServiceUnavailable || body["status"] != "unavailable" {
		t.Fatalf("got %d %v", code, body)
	}
	if checks := body["checks"].(map[string]any); checks["redis"] != "error" || checks["postgres"] != "ok" {
		t.Fatalf("checks = %v", checks)
	}
}

func TestShutdownTurnsReadinessOff(t *testing.T) {
	c := New(time.Second, "", "")
	c.Register("postgres", ok)
	c.StartShutdown()
	code, body := get(t, c.Ready, "")
	if code != http.StatusServiceUnavailable || body["status"] != "shutting_down" {
		t.Fatalf("got %d %v", code, body)
	}
}

const token = "0123456789abcdef-token"

// redisNoAuth stands for go-redis' error type (a string with a RedisError method).
type redisNoAuth string

func (e redisNoAuth) Error() string { return string(e) }
func (redisNoAuth) RedisError()     {}

// pgAuthFailed stands for pgconn.PgError: the server's text names the user and host.
type pgAuthFailed struct{}

func (pgAuthFailed) Error() string {
	return "failed to connect to `user=app database=app`: db.internal.example:5432: password authentication failed for user \"app\" (SQLSTATE 28P01)"
}
func (pgAuthFailed) SQLState() string { return "28P01" }

func TestDetailedReportWithTheToken(t *testing.T) {
	c := New(time.Second, "", token)
	c.Register("postgres", ok)
	c.Register("redis", func(context.Context) error {
		return fmt.Errorf("redis: %w", redisNoAuth("NOAUTH Authentication required."))
	})
	code, body := get(t, c.Detailed, "Bearer "+token)
	if code != http.StatusServiceUnavailable || body["status"] != "degraded" {
		t.Fatalf("got %d %v", code, body)
	}
	if body["version"] != "unknown" {
		t.Errorf("version = %v, want unknown when APP_VERSION is empty", body["version"])
	}
	if _, err := time.Parse(time.RFC3339Nano, body["timestamp"].(string)); err != nil {
		t.Errorf("timestamp is not ISO 8601: %v", err)
	}
	if _, isNumber := body["uptime"].(float64); !isNumber {
		t.Errorf("uptime = %v, want seconds", body["uptime"])
	}
	checks := body["checks"].(map[string]any)
	pg := checks["postgres"].(map[string]any)
	if pg["status"] != "ok" || pg["message"] != nil {
		t.Errorf("postgres = %v: a passing check carries no message", pg)
	}
	if _, isNumber := pg["latency_ms"].(float64); !isNumber {
		t.Errorf("postgres latency_ms = %v", pg["latency_ms"])
	}
	rd := checks["redis"].(map[string]any)
	if rd["status"] != "error" || rd["message"] != "authentication failed (NOAUTH)" {
		t.Errorf("redis = %v", rd)
	}
}

func TestDetailedAllOK(t *testing.T) {
	c := New(time.Second, "2.0.1", token)
	c.Register("postgres", ok)
	code, body := get(t, c.Detailed, "Bearer "+token)
	if code != http.StatusOK || body["status"] != "ok" || body["version"] != "2.0.1" {
		t.Fatalf("got %d %v", code, body)
	}
}

func TestWithoutTheTokenOnlyStatusesAreShown(t *testing.T) {
	for _, configured := range []string{token, ""} {
		c := New(time.Second, "1.0.0", configured)
		c.Register("postgres", func(context.Context) error { return pgAuthFailed{} })
		for _, header := range []string{"", "Bearer wrong", "Basic " + token, token, "Bearer " + token + "x", "Bearer "} {
			code, body := get(t, c.Detailed, header)
			if code != http.StatusServiceUnavailable || body["status"] != "degraded" || len(body) != 2 {
				t.Errorf("token %q, Authorization %q: got %d %v, want the public view", configured, header, code, body)
			}
			pg := body["checks"].(map[string]any)["postgres"].(map[string]any)
			if len(pg) != 1 || pg["status"] != "error" {
				t.Errorf("token %q, Authorization %q: postgres = %v, want its status only", configured, header, pg)
			}
		}
	}
	c := New(time.Second, "", token)
	if code, body := get(t, c.Detailed, "bearer "+token); code != http.StatusOK || body["version"] == nil {
		t.Errorf("the scheme is case-insensitive: got %d %v", code, body)
	}
	// Readiness stays open: probes carry no token.
	if code, _ := get(t, c.Ready, ""); code != http.StatusOK {
		t.Errorf("readiness without token: got %d, want 200", code)
	}
}

func TestMessagesNeverQuoteTheDriver(t *testing.T) {
	for err, want := range map[error]string{
		pgAuthFailed{}: "authentication failed (SQLSTATE 28P01)",
		fmt.Errorf("redis: %w", redisNoAuth("ERR DB index is out of range")):                                                         "command refused (ERR)",
		&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "db.internal.example", Err: "no such host"}}:                   "host name not found",
		fmt.Errorf("connect db.internal.example: %w", &tls.CertificateVerificationError{Err: errors.New("x509: unknown authority")}): "TLS handshake failed",
		errors.New("dial tcp 10.0.0.7:5432: secret internal detail"):                                                                 "check failed",
	} {
		if got := Describe(err); got != want {
			t.Errorf("Describe(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestAHungCheckCostsOneTimeout(t *testing.T) {
	c := New(150*time.Millisecond, "", "")
	block := make(chan struct{})
	defer close(block)
	// Ignores its context on purpose: the checker must not wait for it.
	c.Register("stuck", func(context.Context) error { <-block; return nil })
	c.Register("slow", func(ctx context.Context) error {
		select {
		case <-time.After(10 * time.Second):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	c.Register("fine", ok)
	start := time.Now()
	results := c.Run(context.Background())
	elapsed := time.Since(start)
	if elapsed > 600*time.Millisecond {
		t.Fatalf("two hung checks took %v; concurrent checks should cost one timeout", elapsed)
	}
	for _, name := range []string{"stuck", "slow"} {
		if r := results[name]; r.Status != "error" || r.Message != "timed out after 150ms" {
			t.Errorf("%s = %+v", name, r)
		}
	}
	if !results["fine"].OK() {
		t.Errorf("fine = %+v", results["fine"])
	}
}

func TestChecksRunConcurrently(t *testing.T) {
	c := New(time.Second, "", "")
	var running, peak atomic.Int32
	for _, name := range []string{"a", "b", "c"} {
		c.Register(name, func(context.Context) error {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
			running.Add(-1)
			return nil
		})
	}
	c.Run(context.Background())
	if peak.Load() != 3 {
		t.Fatalf("at most %d checks ran at once, want 3", peak.Load())
	}
}

func TestConcurrentCallersShareOneRun(t *testing.T) {
	c := New(time.Second, "", "")
	var calls atomic.Int32
	release := make(chan struct{})
	c.Register("db", func(context.Context) error {
		calls.Add(1)
		<-release
		return nil
	})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := c.Run(context.Background()); !r["db"].OK() {
				t.Errorf("db = %+v", r["db"])
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("check ran %d times for 20 concurrent callers, want 1", n)
	}
	// Once finished, the next caller gets a fresh run.
	c.Run(context.Background())
	if n := calls.Load(); n != 2 {
		t.Fatalf("check ran %d times, want 2", n)
	}
}

func TestAPanickingCheckFails(t *testing.T) {
	c := New(time.Second, "", "")
	c.Register("boom", func(context.Context) error { panic("bug") })
	if r := c.Run(context.Background())["boom"]; r.Status != "error" || r.Message != "check panicked" {
		t.Fatalf("boom = %+v", r)
	}
}

func TestRegisterReplacesAName(t *testing.T) {
	c := New(time.Second, "", "")
	c.Register("db", func(context.Context) error { return errors.New("old") })
	c.Register("db", ok)
	results := c.Run(context.Background())
	if len(results) != 1 || !results["db"].OK() {
		t.Fatalf("results = %+v", results)
	}
}
