package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// localServer serves handler on 127.0.0.1 and points PORT at it.
func localServer(t *testing.T, handler http.HandlerFunc) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	t.Setenv("PORT", port)
}

func TestHealthcheckPassesOn200(t *testing.T) {
	localServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	if code := run([]string{"healthcheck"}); code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
}

func TestHealthcheckFailsOtherwise(t *testing.T) {
	localServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	if code := run([]string{"healthcheck"}); code != 1 {
		t.Fatalf("exit %d on a 503, want 1", code)
	}
	t.Setenv("PORT", "not-a-port")
	if code := run([]string{"healthcheck"}); code != 1 {
		t.Fatalf("exit %d on a bad PORT, want 1", code)
	}
}

func TestHealthcheckFailsWhenNothingListens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	_ = ln.Close()
	t.Setenv("PORT", port)
	if code := run([]string{"healthcheck"}); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
}

func TestServeRefusesAnInvalidEnvironmentBeforeListening(t *testing.T) {
	t.Setenv("PORT", "99999")
	if code := run(nil); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
}

func TestUnknownCommand(t *testing.T) {
	if code := run([]string{"frobnicate"}); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
}
