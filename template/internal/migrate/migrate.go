// Package migrate applies the embedded SQL migrations: each file once, in
// lexical order, in its own transaction, recorded in schema_migrations, and
// under an advisory lock so that two runners (two pods of a rollout, a job
// and a developer) never apply the same file twice.
//
// Hand-written (about 100 lines) rather than goose: it keeps the
// schema_migrations table every stack of this template shares, and its
// cancellation is pgx's, which stops the running statement on the server.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// LockKey is the pg_advisory_lock key held while migrating ("prodrdy!" in ASCII).
const LockKey int64 = 0x70726f6472647921

// cleanupTimeout bounds the rollback and unlock that run after a cancellation.
const cleanupTimeout = 10 * time.Second

var versionPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_.-]*$`)

// Pending lists the migration versions in fsys (file names without .sql) in
// the order they apply.
func Pending(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	versions := make([]string, 0, len(names))
	for _, name := range names {
		v := strings.TrimSuffix(name, ".sql")
		if !versionPattern.MatchString(v) {
			return nil, fmt.Errorf("migrate: %q is not a valid migration file name (want NNNN_name.sql)", name)
		}
		versions = append(versions, v)
	}
	return versions, nil
}

// Run applies every migration of fsys that schema_migrations does not list yet
// and returns the versions it applied. Cancelling ctx (SIGTERM) stops the
// running statement on the server, rolls its transaction back and releases
// the lock before Run returns.
func Run(ctx context.Context, conn *pgx.Conn, fsys fs.FS, log *slog.Logger) (applied []string, err error) {
	versions, err := Pending(fsys)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", LockKey); err != nil {
		return nil, fmt.Errorf("migrate: taking the advisory lock: %w", err)
	}
	defer func() {
		// The lock would also end with the session; release it explicitly so
		// that it is gone before the process reports, whatever happened.
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if _, unlockErr := conn.Exec(cleanup, "SELECT pg_advisory_unlock($1)", LockKey); unlockErr != nil && err == nil {
			err = fmt.Errorf("migrate: releasing the advisory lock: %w", unlockErr)
		}
	}()
	const table = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)`
	if _, err := conn.Exec(ctx, table); err != nil {
		return nil, fmt.Errorf("migrate: creating schema_migrations: %w", err)
	}
	rows, _ := conn.Query(ctx, "SELECT version FROM schema_migrations")
	done, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("migrate: reading schema_migrations: %w", err)
	}
	for _, v := range versions {
		if slices.Contains(done, v) {
			continue
		}
		body, err := fs.ReadFile(fsys, v+".sql")
		if err != nil {
			return applied, err
		}
		if err := applyOne(ctx, conn, v, string(body)); err != nil {
			return applied, fmt.Errorf("migrate: %s (migrations/%s.sql): %w", v, v, err)
		}
		log.Info("migration applied", "version", v)
		applied = append(applied, v)
	}
	return applied, nil
}

// applyOne runs one file and records it in the same transaction: either both
// happen or neither does.
func applyOne(ctx context.Context, conn *pgx.Conn, version, body string) (err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			defer cancel()
			if rbErr := tx.Rollback(cleanup); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) {
				err = errors.Join(err, fmt.Errorf("rolling back: %w", rbErr))
			}
		}
	}()
	// No arguments: pgx sends the file with the simple protocol, several statements at once.
	if _, err := tx.Exec(ctx, body); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", version); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
