// Package logging builds the service's logger: JSON lines on stdout with
// lowercase levels and UTC ISO 8601 times, one line per request.
package logging

import (
	"bufio"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// levelNames spells levels in lowercase without formatting them per line.
var levelNames = map[slog.Level]slog.Value{
	slog.LevelDebug: slog.StringValue("debug"),
	slog.LevelInfo:  slog.StringValue("info"),
	slog.LevelWarn:  slog.StringValue("warn"),
	slog.LevelError: slog.StringValue("error"),
}

// New returns a JSON logger writing to w at level (debug, info, warn or error).
func New(w io.Writer, level string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: lvl,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.LevelKey:
				level, _ := a.Value.Any().(slog.Level)
				if name, ok := levelNames[level]; ok {
					a.Value = name
				} else {
					a.Value = slog.StringValue(strings.ToLower(level.String())) // e.g. "info+2"
				}
			case slog.TimeKey:
				// Still a time value, so the handler formats it (RFC 3339, milliseconds).
				a.Value = slog.TimeValue(a.Value.Time().UTC())
			}
			return a
		},
	}))
}

// Buffered batches log lines into fewer write system calls, which otherwise
// cost more than the whole liveness handler. Lines reach w within interval,
// or sooner when 64 KiB are waiting. Call flush before the process exits:
// it writes what is left and stops the background flusher.
func Buffered(w io.Writer, interval time.Duration) (out io.Writer, flush func()) {
	b := &bufferedWriter{w: bufio.NewWriterSize(w, 64<<10), done: make(chan struct{})}
	ticker := time.NewTicker(interval)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-ticker.C:
				b.flush()
			case <-b.done:
				ticker.Stop()
				return
			}
		}
	}()
	var once sync.Once
	return b, func() {
		once.Do(func() {
			close(b.done)
			<-stopped
			b.flush()
		})
	}
}

type bufferedWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	done chan struct{}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

func (b *bufferedWriter) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.w.Flush()
}
