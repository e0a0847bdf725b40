// Package cgodeps builds the region daemon's collaborators that link C
// libraries from its configuration: the store over SQLite
// (internal/sqlite), or over PostgreSQL when configured. region takes it as
// region.Deps.OpenStore so that it builds and tests without cgo;
// cmd/regiond and the tests that run the real daemon get it here so that
// all of them run the same parts.
package cgodeps

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/region"
	"github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/store"
)

// Deps returns the daemon's dependencies for cfg with the store set and
// log as the logger; the caller sets the rest (Version, the test knobs).
func Deps(cfg config.Config, log *slog.Logger) region.Deps {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return region.Deps{
		Logger:    log,
		OpenStore: func() (store.Store, error) { return OpenStore(cfg, log) },
	}
}

// OpenStore opens the store cfg names: the SQLite file at store.path, or
// PostgreSQL at the DSN in store.dsn_file; crops go under data.dir.
func OpenStore(cfg config.Config, log *slog.Logger) (store.Store, error) {
	opt := store.Options{CropDir: cfg.Data.CropDir(), Logger: log.With("component", "store")}
	if cfg.Store.Driver == config.DriverPostgres {
		dsn, err := cfg.Store.DSN()
		if err != nil {
			return nil, err
		}
		return store.OpenPostgres(dsn, opt)
	}
	opt.SQLite = sqlite.Binding{}
	// The database's folder is made on first use, whichever command
	// comes first (regiond itself, or `regiond user add` before it).
	if err := os.MkdirAll(filepath.Dir(cfg.Store.Path), 0o750); err != nil {
		return nil, fmt.Errorf("store.path: %w", err)
	}
	return store.OpenSQLite(cfg.Store.Path, opt)
}
