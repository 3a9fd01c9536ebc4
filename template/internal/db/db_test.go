package db

import (
	"context"
	"strings"
	"testing"
)

func TestAnInvalidURLIsRefusedWithoutEchoingThePassword(t *testing.T) {
	_, err := Pool(context.Background(), "postgres://app:pw-Secret-123@db:notaport/app", "svc")
	if err == nil {
		t.Fatal("an invalid port was accepted")
	}
	if strings.Contains(err.Error(), "pw-Secret-123") {
		t.Fatalf("the error quotes the password: %v", err)
	}
}

func TestSessionsAreNamedAfterTheServiceUnlessTheURLNamesThem(t *testing.T) {
	for url, want := range map[string]string{
		"postgres://app@db/app":                            "svc",
		"postgres://app@db/app?application_name=reporting": "reporting",
	} {
		pool, err := Pool(context.Background(), url, "svc")
		if err != nil {
			t.Fatal(err)
		}
		cfg := pool.Config().ConnConfig
		pool.Close()
		if got := cfg.RuntimeParams["application_name"]; got != want {
			t.Errorf("%s: application_name = %q, want %q", url, got, want)
		}
		// A cancelled context must stop the statement on the server (a cancel request).
		if cfg.BuildContextWatcherHandler == nil {
			t.Errorf("%s: no cancel-request handler", url)
		}
	}
}
