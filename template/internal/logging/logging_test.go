package logging

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestLinesAreJSONWithLowercaseLevelsAndUTCTimes(t *testing.T) {
	var out bytes.Buffer
	New(&out, "debug").Warn("disk almost full", "free_mb", 12)
	var entry map[string]any
	if err := json.Unmarshal(out.Bytes(), &entry); err != nil {
		t.Fatalf("not JSON: %q", out.String())
	}
	if entry["level"] != "warn" || entry["msg"] != "disk almost full" || entry["free_mb"] != float64(12) {
		t.Fatalf("entry = %v", entry)
	}
	ts, err := time.Parse(time.RFC3339Nano, entry["time"].(string))
	if err != nil || ts.Location() != time.UTC {
		t.Fatalf("time = %v (%v), want ISO 8601 in UTC", entry["time"], err)
	}
}

func TestLevelFilters(t *testing.T) {
	var out bytes.Buffer
	logger := New(&out, "warn")
	logger.Info("hidden")
	logger.Error("shown")
	if bytes.Contains(out.Bytes(), []byte("hidden")) || !bytes.Contains(out.Bytes(), []byte(`"level":"error"`)) {
		t.Fatalf("output = %s", out.String())
	}
}

// countingWriter counts the writes it receives.
type countingWriter struct{ writes int }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return len(p), nil
}

func TestEveryLineIsWrittenAtOnce(t *testing.T) {
	var out countingWriter
	logger := New(&out, "info")
	logger.Info("one")
	logger.Info("two")
	if out.writes != 2 {
		t.Fatalf("%d writes for 2 lines: lines must not wait in a buffer", out.writes)
	}
}
