//go:build cgo

package edge_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/cgodeps"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/recognizer"
)

// fakeEngine finds no faces; it lets the daemon run without models.
type fakeEngine struct{}

func (fakeEngine) Detect(*recognizer.Image) ([]recognizer.Face, error) { return nil, nil }
func (fakeEngine) Model() recognizer.ModelID                           { return "fake-1" }
func (fakeEngine) Dim() int                                            { return 4 }
func (fakeEngine) Name() string                                        { return "fake" }
func (fakeEngine) Close() error                                        { return nil }
func (fakeEngine) Embed(*recognizer.Image, []recognizer.Face) ([]recognizer.Embedding, error) {
	return nil, nil
}
func (fakeEngine) Recognize(*recognizer.Image, func(recognizer.Face) bool) ([]recognizer.Face, []recognizer.Embedding, error) {
	return nil, nil, nil
}

// An enrolment made while the daemon runs (by the web UI, another process)
// reaches the gallery without a restart; Reload forces a rebuild. The box
// is healthy without its broker: it works offline.
func TestGalleryFollowsTheStore(t *testing.T) {
	dir := t.TempDir()
	key := keyFile(t)
	cfg := config.Defaults()
	cfg.Store.Path, cfg.Store.KeyFile = filepath.Join(dir, "dozor.db"), key
	cfg.Uplink.Broker = "tcp://127.0.0.1:1"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Recognizer.Workers = 1
	log, logs := newLog()
	deps := cgodeps.Deps(cfg, log)
	deps.RevisionEvery = 100 * time.Millisecond
	deps.NewEngine = func() (recognizer.Engine, error) { return fakeEngine{}, nil }
	d, cancel, done := runDaemon(t, cfg, deps, logs)
	h, code := getHealth(t, d.HTTPAddr())
	if code != http.StatusOK || h.Gallery.Templates != 0 || h.Uplink.Connected {
		t.Fatalf("/healthz %d: gallery %+v, uplink %+v", code, h.Gallery, h.Uplink)
	}

	st, err := store.Open(cfg.Store.Path, store.Options{SQLite: sqlite.Binding{}, KeyFile: key, Region: cfg.Site.Region,
		Site: cfg.Site.ID})
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	if err := st.PutPerson(bg, "supervisor", store.Person{ID: "P-1", DisplayName: "P 1", Facility: "site", Status: store.StatusActive}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddTemplate(bg, "supervisor", store.NewTemplate{PersonID: "P-1", Model: "fake-1", Vec: []float32{1, 0, 0, 0},
		Quality: 0.9, Source: "booking photo"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	deadline := time.Now().Add(10 * time.Second)
	for h.Gallery.Templates != 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		h, _ = getHealth(t, d.HTTPAddr())
	}
	if h.Gallery.Templates != 1 || h.Gallery.Persons != 1 {
		t.Fatalf("gallery after enrolment: %+v", h.Gallery)
	}

	d.Reload()
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(get(t, "http://"+d.HTTPAddr()+"/metrics"), "\ndozor_gallery_reloads_total 2") {
		if time.Now().After(deadline) {
			t.Fatal("Reload did not rebuild the gallery")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
