package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema step, applied in its own transaction.
type migration struct {
	version  int
	name     string // file name without the number and extension
	sql      string
	checksum string // sha256 of the file, recorded when applied
}

// loadMigrations reads the embedded migrations and checks that they are
// numbered 1, 2, 3... without gaps or duplicates.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	files, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, f := range files {
		base := strings.TrimSuffix(path.Base(f), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || name == "" {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", f)
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		out = append(out, migration{version: v, name: name, sql: string(b), checksum: hex.EncodeToString(sum[:])})
	}
	// fs.Glob sorts by name; zero-padded numbers therefore come in order.
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations must be numbered 1..%d without gaps: found %d at position %d", len(out), m.version, i+1)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no migrations embedded")
	}
	return out, nil
}

// SchemaVersion is the schema version this build creates and understands.
func SchemaVersion() int {
	m, err := loadMigrations(migrationFS)
	if err != nil {
		return 0
	}
	return len(m)
}

const createSchemaVersion = `CREATE TABLE IF NOT EXISTS schema_version (
    version       INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    checksum      TEXT NOT NULL,
    applied_at_ms INTEGER NOT NULL
) STRICT`

type appliedMigration struct {
	version        int
	name, checksum string
}

func readApplied(ctx context.Context, q querier) ([]appliedMigration, error) {
	return appendRows(ctx, q, nil, func(r scanner) (appliedMigration, error) {
		var a appliedMigration
		err := r.Scan(&a.version, &a.name, &a.checksum)
		return a, err
	}, `SELECT version, name, checksum FROM schema_version ORDER BY version`)
}

// checkApplied compares what the database says was applied with what this
// build embeds. A newer database is refused (ErrNewerSchema); an applied
// step whose file changed since is refused as well, because the schema in
// the file is then not the one this build expects.
func checkApplied(applied []appliedMigration, migs []migration) error {
	if n := len(applied); n > 0 && applied[n-1].version > len(migs) {
		return fmt.Errorf("%w: the database is at schema version %d, this build knows versions up to %d; "+
			"run the newer build (a downgrade is never done)", ErrNewerSchema, applied[n-1].version, len(migs))
	}
	for i, a := range applied {
		if a.version != i+1 {
			return fmt.Errorf("%w: schema_version lists version %d where %d was expected", ErrCorrupt, a.version, i+1)
		}
		m := migs[i]
		if a.name != m.name || a.checksum != m.checksum {
			return fmt.Errorf("%w: schema version %d was applied as %q (sha256 %.12s), this build has %q (sha256 %.12s)",
				ErrNotDatabase, a.version, a.name, a.checksum, m.name, m.checksum)
		}
	}
	return nil
}

// upgrade is the part of a migration that SQL cannot do (composing wire
// payloads, say). It runs in its migration's transaction, after the SQL.
type upgrade func(ctx context.Context, tx *sql.Tx) error

// migrate brings the schema up to date, one transaction per step, running
// the upgrade of a version (when steps has one) with its SQL. Each step
// re-reads the applied versions inside its own write transaction, so two
// processes opening the same new file cannot apply a step twice.
func migrate(ctx context.Context, db *sql.DB, migs []migration, now func() int64, log *slog.Logger, lib SQLite,
	steps map[int]upgrade) error {
	for _, m := range migs {
		done := false
		err := inTx(ctx, db, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, createSchemaVersion); err != nil {
				return err
			}
			applied, err := readApplied(ctx, tx)
			if err != nil {
				return err
			}
			if err := checkApplied(applied, migs); err != nil {
				return err
			}
			if len(applied) >= m.version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration %d (%s): %w", m.version, m.name, err)
			}
			if step := steps[m.version]; step != nil {
				if err := step(ctx, tx); err != nil {
					return fmt.Errorf("apply migration %d (%s): %w", m.version, m.name, err)
				}
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_version (version, name, checksum, applied_at_ms) VALUES (?, ?, ?, ?)`,
				m.version, m.name, m.checksum, now())
			done = err == nil
			return err
		})
		if err != nil {
			return dbErr(lib, "migrate", err)
		}
		if done {
			log.Info("store: applied schema migration", "version", m.version, "name", m.name)
		}
	}
	return nil
}
