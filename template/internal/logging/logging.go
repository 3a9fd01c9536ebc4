// Package logging builds the service's logger: slog's JSON handler writing
// one line per record straight to stdout (no buffering, so nothing is lost
// when the process is killed), with lowercase levels and UTC times.
package logging

import (
	"io"
	"log/slog"
	"strings"
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
