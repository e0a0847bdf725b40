package edge

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dozor-edge/dozor/edge/enroll"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/sync/gallerysync"
)

// galleryStore is what the site's side of the region's gallery needs of
// the store.
type galleryStore interface {
	GalleryState(ctx context.Context) (store.GalleryState, error)
	ApplyGalleryRevision(ctx context.Context, rev gallerysync.Revision, src store.RevisionSource) (store.AppliedRevision, error)
	RefuseGalleryRevision(ctx context.Context, r store.GalleryRefusal) (uint64, error)
	QueueGalleryResync(ctx context.Context, reason string) (uint64, error)
}

const (
	// galleryQueueBytes bounds the revision chunks waiting for the
	// gallery sync; more are dropped (and counted), and the region sends
	// the revision again since it is not acknowledged.
	galleryQueueBytes = 64 << 20
	// refusalEvery is how often one reason of refusal is recorded (audit
	// and ack): a flood of bad chunks cannot fill the disk or the outbox.
	// Every refusal is counted in the metrics.
	refusalEvery = time.Minute
)

// gallerySync is the site's side of the region's master gallery: it takes
// the revision chunks the uplink receives, assembles and checks them
// (gallerysync.Assembler: signature by the configured region key, site,
// body), and applies each complete revision in order (the store checks
// the order, applies and queues the ack in one transaction) or refuses
// it. After a revision is applied it wakes the uplink, asks for the
// gallery to be swapped, and re-embeds, from their photos, the persons
// who lack a template of the site's model; the gallery works meanwhile
// with what it has. After each connect it asks the region for what
// follows the revision in force (a resync ack).
type gallerySync struct {
	st     galleryStore
	asm    *gallerysync.Assembler
	signer string // fingerprint of the region key; "" when none is configured
	log    *slog.Logger
	m      *metrics
	now    func() time.Time
	// notify wakes the uplink; reload asks for a gallery swap; reembed
	// (nil: none) makes the site's model's templates of persons who lack
	// them.
	notify  func()
	reload  func()
	reembed func(ctx context.Context) error

	kick        chan struct{}
	reembedKick chan struct{}
	connected   atomic.Bool // a connect since the last resync ack
	inForce     atomic.Uint64

	mu      sync.Mutex
	queue   [][]byte
	queued  int // bytes in queue
	dropped uint64

	recorded map[string]time.Time // reason -> last recorded refusal; run's goroutine only
	last     atomic.Pointer[galleryRefusalInfo]
}

// galleryRefusalInfo is the last refusal, for /healthz.
type galleryRefusalInfo struct {
	Reason   string    `json:"reason"`
	Revision uint64    `json:"revision,omitempty"`
	Detail   string    `json:"detail"`
	At       time.Time `json:"at"`
}

func newGallerySync(st galleryStore, region, site string, pub ed25519.PublicKey, log *slog.Logger, m *metrics) *gallerySync {
	g := &gallerySync{
		st: st, asm: gallerysync.NewAssembler(region, site, pub, gallerysync.Limits{}),
		log: log.With("component", "gallery-sync"), m: m, now: time.Now,
		notify: func() {}, reload: func() {},
		kick: make(chan struct{}, 1), reembedKick: make(chan struct{}, 1),
		recorded: map[string]time.Time{},
	}
	if len(pub) == ed25519.PublicKeySize {
		g.signer = gallerysync.Fingerprint(pub)
	}
	return g
}

// chunk queues a message of the revision topic; the uplink calls it on the
// MQTT client's goroutine, so it never blocks.
func (g *gallerySync) chunk(payload []byte) {
	g.mu.Lock()
	full := g.queued+len(payload) > galleryQueueBytes
	if full {
		g.dropped++
	} else {
		g.queue = append(g.queue, payload)
		g.queued += len(payload)
	}
	g.mu.Unlock()
	if full {
		g.m.galleryDropped.Inc()
		return
	}
	g.wake()
}

// connect notes a connect of the uplink: run sends a resync ack.
func (g *gallerySync) connect() {
	g.connected.Store(true)
	g.wake()
}

func (g *gallerySync) wake() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// take returns the queued chunks and empties the queue.
func (g *gallerySync) take() [][]byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	q := g.queue
	g.queue, g.queued = nil, 0
	return q
}

// run handles chunks and connects until ctx ends, and waits for the
// re-embedding it started.
func (g *gallerySync) run(ctx context.Context) {
	if st, err := g.st.GalleryState(ctx); err != nil {
		g.log.Error("cannot read the gallery revision in force", "err", err)
	} else {
		g.setInForce(st.Revision)
	}
	if g.signer == "" {
		g.log.Info("no region key configured (gallery.region_public_key): the site keeps its own gallery and refuses the region's revisions")
	}
	var wg sync.WaitGroup
	if g.reembed != nil {
		wg.Go(func() { g.reembedLoop(ctx) })
	}
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.kick:
		}
		if g.connected.Swap(false) {
			g.resync(ctx)
		}
		for _, msg := range g.take() {
			if ctx.Err() != nil {
				return
			}
			g.handle(ctx, msg)
		}
	}
}

// resync queues the once-per-connect resync ack.
func (g *gallerySync) resync(ctx context.Context) {
	if g.signer == "" {
		return // no region gallery at this site: nothing to ask for
	}
	if _, err := g.st.QueueGalleryResync(ctx, "connect"); err != nil {
		if ctx.Err() == nil {
			g.log.Error("could not queue the gallery resync ack", "err", err)
		}
		return
	}
	g.notify()
}

// handle feeds one chunk to the assembler and applies or refuses what it
// completes.
func (g *gallerySync) handle(ctx context.Context, msg []byte) {
	rev, err := g.asm.Add(msg)
	if err != nil {
		g.refuse(ctx, err)
		return
	}
	if rev == nil {
		return
	}
	res, err := g.st.ApplyGalleryRevision(ctx, *rev, store.RevisionSource{Signer: g.signer})
	var ref *gallerysync.Refusal
	var inv *store.InvalidError
	switch {
	case errors.As(err, &ref):
		g.refuse(ctx, ref)
		return
	case errors.As(err, &inv):
		// Signed and well formed, but not storable here (a template
		// whose dimension differs from the model's stored ones, say).
		g.refuse(ctx, &gallerysync.Refusal{Reason: gallerysync.ReasonBadBody, Revision: rev.Number, Text: err.Error()})
		return
	case err != nil:
		// The store could not write (a full disk): nothing is acked, and
		// the region sends the revision again.
		if ctx.Err() == nil {
			g.log.Error("could not apply gallery revision; the region will send it again", "revision", rev.Number, "err", err)
		}
		return
	}
	g.setInForce(res.Revision)
	g.log.Info("gallery revision applied", "revision", res.Revision, "full", res.Full, "upserted", res.Upserted,
		"removed", res.Removed, "templates", res.Templates)
	g.notify()
	g.reload()
	if res.Upserted > 0 {
		select {
		case g.reembedKick <- struct{}{}:
		default:
		}
	}
}

// refuse counts a refusal and records it (audit and ack) unless the same
// reason was recorded less than refusalEvery ago. A gap or a replay asks
// for a resync instead of reporting a failure.
func (g *gallerySync) refuse(ctx context.Context, err error) {
	var ref *gallerysync.Refusal
	if !errors.As(err, &ref) {
		ref = &gallerysync.Refusal{Reason: gallerysync.ReasonMalformed, Text: err.Error()}
	}
	g.m.galleryRefused.WithLabelValues(ref.Reason).Inc()
	now := g.now()
	g.last.Store(&galleryRefusalInfo{Reason: ref.Reason, Revision: ref.Revision, Detail: ref.Text, At: now})
	if at, ok := g.recorded[ref.Reason]; ok && now.Sub(at) < refusalEvery {
		return
	}
	g.recorded[ref.Reason] = now
	g.log.Warn("gallery revision refused (recorded at most once a minute per reason; all are counted in /metrics)",
		"reason", ref.Reason, "revision", ref.Revision, "detail", ref.Text)
	resync := ref.Reason == gallerysync.ReasonReplayed || ref.Reason == gallerysync.ReasonOutOfOrder
	_, serr := g.st.RefuseGalleryRevision(ctx, store.GalleryRefusal{Revision: ref.Revision, Reason: ref.Reason,
		Detail: ref.Text, Resync: resync})
	if serr != nil {
		if ctx.Err() == nil {
			g.log.Error("could not record the gallery refusal", "err", serr)
		}
		return
	}
	g.notify()
}

func (g *gallerySync) setInForce(rev uint64) {
	g.inForce.Store(rev)
	g.m.galleryRevision.Set(float64(rev))
}

// reembedLoop re-embeds after each applied revision that brought persons,
// one run at a time; kicks during a run make one more run.
func (g *gallerySync) reembedLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.reembedKick:
		}
		if err := g.reembed(ctx); err != nil && ctx.Err() == nil {
			g.log.Error("re-embedding the region's persons for this site's model failed; they are recognised once it succeeds",
				"err", err)
		}
		g.reload()
	}
}

// newGallerySync builds the daemon's gallery sync from the configured
// region key (none: every revision is refused).
func (d *Daemon) newGallerySync(st galleryStore) (*gallerySync, error) {
	var pub ed25519.PublicKey
	if k := d.cfg.Gallery.RegionPublicKey; k != "" {
		var err error
		if pub, err = gallerysync.ParsePublicKey(k); err != nil {
			return nil, fmt.Errorf("gallery.region_public_key: %w", err)
		}
	}
	g := newGallerySync(st, d.cfg.Site.Region, d.cfg.Site.ID, pub, d.log, d.m)
	g.reload = d.Reload
	g.reembed = d.reembedRegion
	return g, nil
}

// reembedRegion makes templates of the site's model, from their photos,
// for the persons who have none (the region's persons arrive with the
// templates of the models the region holds). It builds an engine of its
// own for the run, so that the monitor's requests do not wait behind it.
func (d *Daemon) reembedRegion(ctx context.Context) error {
	eng, err := d.deps.NewEngine()
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	defer eng.Close()
	decode := func(b []byte) (*recognizer.Image, error) { return d.deps.Decode(b, enrolMaxSide) }
	rep, err := enroll.Reembed(ctx, d.st, eng, decode, store.SystemActor, nil)
	if rep.Reembedded > 0 || len(rep.Failed) > 0 {
		d.log.Info("re-embedded persons for this site's model", "component", "gallery-sync", "model", rep.Model,
			"persons", rep.Reembedded, "templates", rep.Templates, "failed", len(rep.Failed))
	}
	return err
}

// galleryHealth is the region gallery's part of /healthz.
type galleryHealth struct {
	// KeyConfigured says whether gallery.region_public_key is set.
	KeyConfigured bool `json:"key_configured"`
	// Revision is the region's revision in force, 0 for none.
	Revision uint64 `json:"revision"`
	// Dropped counts chunks dropped from a full queue.
	Dropped     uint64              `json:"dropped,omitempty"`
	LastRefusal *galleryRefusalInfo `json:"last_refusal,omitempty"`
}

func (g *gallerySync) health() galleryHealth {
	g.mu.Lock()
	dropped := g.dropped
	g.mu.Unlock()
	return galleryHealth{KeyConfigured: g.signer != "", Revision: g.inForce.Load(), Dropped: dropped, LastRefusal: g.last.Load()}
}
