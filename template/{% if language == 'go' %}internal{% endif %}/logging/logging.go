// Package logging builds the service's logger: JSON lines on stdout with
// lowercase levels and UTC ISO 8601 times, one line per request.
package logging

import (
	"io"
	"log/slog"
	"strings"
	"time"
)

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
				a.Value = slog.StringValue(strings.ToLower(a.Value.Any().(slog.Level).String()))
			case slog.TimeKey:
				a.Value = slog.StringValue(a.Value.Time().UTC().Format(time.RFC3339Nano))
			}
			return a
		},
	}))
}
