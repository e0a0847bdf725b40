// Package cgodeps builds the region daemon's collaborators that link C
// libraries from its configuration: the store over SQLite
// (internal/sqlite), or over PostgreSQL when configured; the recognition
// engine for enrolment at the region over OpenCV and dlib
// (internal/engines); and the photo decoder (opencv.DecodeImage). region
// takes them as region.Deps so that it builds and tests without cgo;
// cmd/regiond and the tests that run the real daemon get them here so that
// all of them run the same parts.
package cgodeps

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/opencv"
	"github.com/dozor-edge/dozor/region"
	"github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/store"
)

// Deps returns the daemon's dependencies for cfg with the store, the
// engine and the decoder set and log as the logger; the caller sets the
// rest (Version, the test knobs).
func Deps(cfg config.Config, log *slog.Logger) region.Deps {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return region.Deps{
		Logger:    log,
		OpenStore: func() (store.Store, error) { return OpenStore(cfg, log) },
		NewEngine: func() (recognizer.Engine, error) { return NewEngine(cfg) },
		Decode:    opencv.DecodeImage,
	}
}

// NewEngine builds the engine models.* names, with the detector set for
// still photos as edgectl sets it for enrolment: a second, upscaled pass
// finds the smaller faces of a photo taken from further away. The model
// files are verified first.
func NewEngine(cfg config.Config) (recognizer.Engine, error) {
	det := opencv.DefaultDetectorConfig
	det.RetryUpscale = true
	e, err := engines.New(cfg.Models.Dir, cfg.Models.Engine, det)
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	return e, nil
}

// OpenStore opens the store cfg names: the SQLite file at store.path, or
// PostgreSQL at the DSN in store.dsn_file, with the key in store.key_file;
// crops go under data.dir.
func OpenStore(cfg config.Config, log *slog.Logger) (store.Store, error) {
	// The key seals the gallery's photos and templates; the store makes it
	// on the very first start and says so.
	opt := store.Options{CropDir: cfg.Data.CropDir(), KeyFile: cfg.StoreKeyPath(), Logger: log.With("component", "store")}
	if err := os.MkdirAll(filepath.Dir(opt.KeyFile), 0o750); err != nil {
		return nil, fmt.Errorf("store.key_file: %w", err)
	}
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
