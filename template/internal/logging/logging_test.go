package logging

import (
	"bytes"
	"encoding/json"
	"sync"
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

// lockedBuffer is a bytes.Buffer safe to read while the flusher writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestBufferedLinesArriveWithinTheInterval(t *testing.T) {
	var sink lockedBuffer
	w, flush := Buffered(&sink, 20*time.Millisecond)
	defer flush()
	New(w, "info").Info("request")
	deadline := time.Now().Add(time.Second)
	for sink.String() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if sink.String() == "" {
		t.Fatal("a buffered line never reached the output")
	}
}

func TestFlushWritesWhatIsLeft(t *testing.T) {
	var sink lockedBuffer
	w, flush := Buffered(&sink, time.Hour)
	New(w, "info").Info("last words")
	flush()
	flush() // idempotent
	if !bytes.Contains([]byte(sink.String()), []byte("last words")) {
		t.Fatalf("output = %q", sink.String())
	}
}
