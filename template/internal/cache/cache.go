// Package cache opens the service's Redis client with go-redis.
//
// REDIS_URL is redis://[user:password@]host:port/db, or rediss:// for TLS
// (the server's certificate is verified against the system's authorities).
package cache

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// Client returns a pooled client for url; it connects on first use. go-redis's
// own messages (pool and connection trouble) go to log as JSON lines instead
// of plain text on stderr.
func Client(url string, log *slog.Logger) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	redis.SetLogger(logAdapter{log})
	return redis.NewClient(opts), nil
}

// Ping is the readiness check: PING on a pooled connection, which
// authenticates and selects the database when it is opened.
func Ping(client *redis.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := client.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		return nil
	}
}

// logAdapter gives go-redis's Printf-style logger interface a slog.Logger.
type logAdapter struct{ log *slog.Logger }

func (a logAdapter) Printf(ctx context.Context, format string, v ...any) {
	a.log.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}
