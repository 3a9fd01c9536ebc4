package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestDriverMessagesBecomeJSONLines(t *testing.T) {
	var out bytes.Buffer
	logAdapter{slog.New(slog.NewJSONHandler(&out, nil))}.Printf(context.Background(), "pool: %s", "dial failed")
	var record map[string]any
	if err := json.Unmarshal(out.Bytes(), &record); err != nil {
		t.Fatalf("not one JSON line: %q", out.String())
	}
	if record["msg"] != "redis client" || record["detail"] != "pool: dial failed" || record["level"] != "WARN" {
		t.Fatalf("record = %v", record)
	}
}

func TestClientRejectsAURLItCannotUse(t *testing.T) {
	if _, err := Client("http://localhost:6379/0", slog.Default()); err == nil {
		t.Fatal("an http:// URL was accepted")
	}
}
