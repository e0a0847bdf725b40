//go:build cgo

package edge_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge"
	"github.com/dozor-edge/dozor/edge/cgodeps"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/models"
)

// The three fatal conditions end Run at once with an error naming what an
// operator has to fix; nothing is left running.
func TestFatalAtStart(t *testing.T) {
	modelDir := testenv.ModelDir(t)
	cases := []struct {
		name  string
		setup func(t *testing.T, cfg *config.Config)
		what  string
		want  error
	}{
		{"key file readable by others", func(t *testing.T, cfg *config.Config) {
			if err := os.Chmod(cfg.Store.KeyFile, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "store", store.ErrKeyFile},
		{"database of another key", func(t *testing.T, cfg *config.Config) {
			other := keyFile(t)
			st, err := store.Open(cfg.Store.Path, store.Options{SQLite: sqlite.Binding{}, KeyFile: other,
				Region: cfg.Site.Region, Site: cfg.Site.ID})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
		}, "store", store.ErrWrongKey},
		{"not a database", func(t *testing.T, cfg *config.Config) {
			if err := os.WriteFile(cfg.Store.Path, []byte("hello"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "store", store.ErrNotDatabase},
		{"model files missing", func(t *testing.T, cfg *config.Config) {
			cfg.Models.Dir = t.TempDir()
		}, "models", models.ErrMissing},
		{"model file damaged", func(t *testing.T, cfg *config.Config) {
			dir := t.TempDir()
			for _, f := range []string{models.YuNet, models.FacePlugin, models.DlibONNX} {
				b, err := os.ReadFile(filepath.Join(modelDir, f))
				if err != nil {
					t.Fatal(err)
				}
				if f == models.DlibONNX {
					b = b[:len(b)/2]
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cfg.Models.Dir = dir
		}, "models", models.ErrSize},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := config.Defaults()
			cfg.Models.Dir = modelDir
			cfg.Recognizer.Workers = 1
			cfg.Store.Path = filepath.Join(dir, "dozor.db")
			cfg.Store.KeyFile = keyFile(t)
			cfg.HTTP.Listen = "127.0.0.1:0"
			c.setup(t, &cfg)
			d, err := edge.New(cfg, cgodeps.Deps(cfg, nil))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = d.Run(ctx)
			var fe *edge.FatalError
			if !errors.As(err, &fe) || fe.What != c.what || !errors.Is(err, c.want) {
				t.Fatalf("Run: %v; want a fatal %s error wrapping %v", err, c.what, c.want)
			}
		})
	}
}
