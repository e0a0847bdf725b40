package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// Each dialect has its own numbered history: migrations/<dialect>/NNNN_name.sql.
//
//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version  int
	name     string
	sql      string
	checksum string // sha256 of the file, recorded when applied
}

func loadMigrations(dialect string) ([]migration, error) {
	files, err := fs.Glob(migrationFS, "migrations/"+dialect+"/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, f := range files { // sorted by name: zero-padded numbers come in order
		num, name, ok := strings.Cut(strings.TrimSuffix(path.Base(f), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || name == "" {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", f)
		}
		if v != len(out)+1 {
			return nil, fmt.Errorf("migration file %s: want number %d (1, 2, 3... without gaps)", f, len(out)+1)
		}
		b, err := fs.ReadFile(migrationFS, f)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		out = append(out, migration{version: v, name: name, sql: string(b), checksum: hex.EncodeToString(sum[:])})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s migrations embedded", dialect)
	}
	return out, nil
}

// migrate applies the missing steps, each in its own transaction that
// re-reads what was applied, so two processes starting on one new
// database never apply a step twice. A database with a step this build
// does not know, or whose recorded checksum differs from the file's, is
// refused: its schema is not the one this build expects.
func (s *db) migrate(ctx context.Context) error {
	migs, err := loadMigrations(s.d.name)
	if err != nil {
		return err
	}
	for _, m := range migs {
		applied := false
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if s.d.migrationLock != "" {
				if _, err := tx.ExecContext(ctx, s.d.migrationLock); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at_ns BIGINT NOT NULL)`); err != nil {
				return err
			}
			rows, err := tx.QueryContext(ctx, `SELECT version, name, checksum FROM schema_migrations ORDER BY version`)
			if err != nil {
				return err
			}
			n := 0
			for rows.Next() {
				var v int
				var name, sum string
				if err := rows.Scan(&v, &name, &sum); err != nil {
					rows.Close()
					return err
				}
				n++
				switch {
				case v > len(migs):
					rows.Close()
					return fmt.Errorf("the database is at schema version %d, this build knows up to %d; run the newer build", v, len(migs))
				case v != n || name != migs[v-1].name || sum != migs[v-1].checksum:
					rows.Close()
					return fmt.Errorf("schema version %d was applied as %q (sha256 %.12s), this build has %q (sha256 %.12s)",
						v, name, sum, migs[min(v, len(migs))-1].name, migs[min(v, len(migs))-1].checksum)
				}
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if n >= m.version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration %d (%s): %w", m.version, m.name, err)
			}
			_, err = tx.ExecContext(ctx, s.d.bind(`INSERT INTO schema_migrations (version, name, checksum, applied_at_ns) VALUES (?, ?, ?, ?)`),
				m.version, m.name, m.checksum, time.Now().UnixNano())
			applied = err == nil
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if applied {
			s.opt.Logger.Info("region store: applied schema migration", "dialect", s.d.name, "version", m.version, "name", m.name)
		}
	}
	return nil
}

func (s *db) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
