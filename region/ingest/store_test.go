package ingest_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/region/store"
)

// observed is the real region store on SQLite, counting the gap checks
// (one Sites call each) and the resend requests noted.
type observed struct {
	store.Store
	mu     sync.Mutex
	checks int
	notes  int
}

func openStore(t *testing.T) *observed {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "region.db"), store.Options{SQLite: sqlite.Binding{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return &observed{Store: st}
}

func (o *observed) Sites(ctx context.Context) ([]store.Site, error) {
	o.mu.Lock()
	o.checks++
	o.mu.Unlock()
	return o.Store.Sites(ctx)
}

func (o *observed) NoteResendRequested(ctx context.Context, site string, g store.Gap, at time.Time) error {
	err := o.Store.NoteResendRequested(ctx, site, g, at)
	o.mu.Lock()
	o.notes++
	o.mu.Unlock()
	return err
}

func (o *observed) counts() (checks, notes int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.checks, o.notes
}

// site returns what the store knows of one site (zero when nothing).
func (o *observed) site(t *testing.T, id string) store.Site {
	t.Helper()
	sites, err := o.Store.Sites(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sites {
		if s.ID == id {
			return s
		}
	}
	return store.Site{}
}

// faultyStore fails Ingest while down is set, as a database that is away
// would.
type faultyStore struct {
	*observed
	down atomic.Bool
}

var errDown = errors.New("database is down")

func (f *faultyStore) Ingest(ctx context.Context, m store.Message) (store.Outcome, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.observed.Ingest(ctx, m)
}

// hookStore runs after, once, when seq is committed (before Ingest
// returns).
type hookStore struct {
	*observed
	seq   uint64
	once  sync.Once
	after func()
}

func (h *hookStore) Ingest(ctx context.Context, m store.Message) (store.Outcome, error) {
	out, err := h.observed.Ingest(ctx, m)
	if err == nil && m.Seq == h.seq {
		h.once.Do(h.after)
	}
	return out, err
}

// gateStore holds the Ingest of seq until release is closed, telling
// entered when it starts waiting.
type gateStore struct {
	*observed
	seq     uint64
	entered chan struct{}
	release chan struct{}
}

func (g *gateStore) Ingest(ctx context.Context, m store.Message) (store.Outcome, error) {
	if m.Seq == g.seq {
		close(g.entered)
		<-g.release
	}
	return g.observed.Ingest(ctx, m)
}
