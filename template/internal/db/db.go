// Package db opens the service's PostgreSQL connections with pgx.
//
// DATABASE_URL is a libpq connection URL and pgx gives its parameters libpq's
// meaning (the docs' configuration section lists them): sslmode disable,
// allow, prefer (the default), require (encrypt without verifying the
// certificate, unless a root certificate is given with sslrootcert or found at
// ~/.postgresql/root.crt: then as verify-ca), verify-ca and verify-full;
// sslrootcert=system trusts the system's authorities and implies verify-full;
// channel_binding=require refuses a server that cannot bind SCRAM to the TLS
// channel. One difference: verify-ca and verify-full without any root
// certificate use the system's authorities, where libpq refuses to connect.
package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Pool opens a pool for url, named appName in pg_stat_activity unless the URL
// names one. It connects lazily: a database that is down at startup turns
// readiness to 503 instead of stopping the service.
func Pool(ctx context.Context, url, appName string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url) // pgx's errors redact the password
	if err != nil {
		return nil, err
	}
	configure(&cfg.ConnConfig.Config, appName)
	return pgxpool.NewWithConfig(ctx, cfg)
}

// Connect opens one connection (the migration runner's).
func Connect(ctx context.Context, url, appName string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	configure(&cfg.Config, appName)
	return pgx.ConnectConfig(ctx, cfg)
}

func configure(cfg *pgconn.Config, appName string) {
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = appName
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	cfg.BuildContextWatcherHandler = cancelOnContextDone
}

// cancelOnContextDone makes a cancelled context stop the statement on the
// server (a cancel request, as libpq's PQcancel), so it releases its locks at
// once. pgx's default only closes the socket, and PostgreSQL runs the
// statement to its end before it notices.
func cancelOnContextDone(conn *pgconn.PgConn) ctxwatch.Handler {
	return &pgconn.CancelRequestContextWatcherHandler{Conn: conn, DeadlineDelay: 5 * time.Second}
}

// Ping is the readiness check: it takes a pooled connection, which logs in
// (password, database, TLS as sslmode asks) if none is open, and runs an
// empty statement on it.
func Ping(pool *pgxpool.Pool) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := pool.Ping(ctx); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		return nil
	}
}
