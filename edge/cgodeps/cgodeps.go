// Package cgodeps builds the daemon's collaborators that link C libraries
// from its configuration: the store over SQLite (internal/sqlite), the
// recognizer engines over OpenCV and dlib (internal/engines) and the
// cameras' libavcodec decoders. edge takes them as edge.Deps so that it
// builds and tests without cgo; cmd/edged, the latency bench and the
// end-to-end tests, which run the real daemon, get them here so that all
// of them run the same parts.
package cgodeps

import (
	"log/slog"

	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/edge"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

// Deps returns the daemon's dependencies for cfg with the cgo
// collaborators set and log as the logger; the caller sets the rest
// (Version, the test knobs).
func Deps(cfg config.Config, log *slog.Logger) edge.Deps {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return edge.Deps{
		Logger: log,
		OpenStore: func() (edge.Store, error) {
			st, err := OpenStore(cfg, log)
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			return st, nil
		},
		NewEngine: engines.ForWorkers(cfg.Models.Dir, cfg.Models.Engine, cfg.Models.DetectionSize, cfg.Workers()),
		Decoders:  avcodec.Factory(avcodec.Options{}),
		Decode:    opencv.DecodeImage,
	}
}

// OpenStore opens the store of cfg as the daemon does, for cfg's site: on
// the very first start, with neither database nor key, it makes the key
// and says so loudly.
func OpenStore(cfg config.Config, log *slog.Logger) (*store.Store, error) {
	c := cfg.Store
	st, madeKey, err := store.OpenFirst(c.Path, store.Options{
		SQLite: sqlite.Binding{}, KeyFile: c.KeyFile, Region: cfg.Site.Region, Site: cfg.Site.ID,
		Logger: log.With("component", "store"),
	})
	if madeKey {
		log.Warn("first start: created a new store key; back it up away from the database, losing it makes the templates and crops unreadable",
			"key_file", c.KeyFile)
	}
	return st, err
}
