package gallery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dozor-edge/dozor/region/broker"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/gallerysync"
	"github.com/dozor-edge/dozor/sync/wire"
)

// Actor is the name the publisher's biometric reads are audited under.
const Actor = "gallery-sync"

// Defaults of Config.
const (
	DefaultResendAfter = 30 * time.Second
	DefaultSourceWait  = 10 * time.Minute
	DefaultInterval    = time.Second
	DefaultMinResend   = time.Second
	DefaultMaxBacklog  = 8 << 20
	DefaultPaceBytes   = 4 << 20
	// MaxDeltas is how far behind a site may be and still get deltas;
	// further behind, it gets one full revision.
	MaxDeltas = 50
	// flushTimeout bounds the wait for the broker to take a chunk.
	flushTimeout = 30 * time.Second
)

// Store is the part of the region's store the publisher uses;
// store.Store implements it.
type Store interface {
	GallerySites(ctx context.Context) ([]store.GallerySite, error)
	RevisionOps(ctx context.Context, site string, rev uint64) (store.RevisionOps, error)
	SiteMembers(ctx context.Context, site string) ([]string, error)
	SiteBiometrics(ctx context.Context, actor, site, purpose string, persons []string) (map[string]store.PersonBio, error)
	NoteRevisionSent(ctx context.Context, site string, rev uint64, at time.Time) error
	AdvanceTransfers(ctx context.Context, now time.Time, sourceWait time.Duration) ([]store.Transfer, error)
}

// Conn publishes on core NATS; *nats.Conn implements it.
type Conn interface {
	Publish(subject string, data []byte) error
	FlushTimeout(timeout time.Duration) error
}

// Config configures a Publisher.
type Config struct {
	Store  Store
	Conn   Conn
	Signer *gallerysync.Signer
	// Region is the region's id, part of every revision and topic.
	Region string
	// ChunkBytes bounds one message on the wire
	// (gallerysync.DefaultChunkBytes when 0).
	ChunkBytes int
	// ResendAfter is how long an unacknowledged revision waits before it
	// is sent again. A site that has not acknowledged what it was sent
	// gets revisions issued meanwhile only then, or when it asks.
	ResendAfter time.Duration
	// MinResend is the least time between two sends to one site, however
	// often the site asks.
	MinResend time.Duration
	// SourceWait is passed to store.AdvanceTransfers.
	SourceWait time.Duration
	// Interval is how often the sites are looked at without a kick.
	Interval time.Duration
	Logger   *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Backlog reports the bytes the broker holds for a site's connection
	// and has not yet written to it, and whether the site is connected
	// to this broker (region/broker's Broker.Backlog). A send waits while
	// the backlog is above MaxBacklog, so that a large revision goes out
	// at the speed the site reads and the broker never cuts the site as a
	// slow consumer. Nil, or a site connected elsewhere in a cluster:
	// chunks go out at PaceBytes a second.
	Backlog func(site string) (pending int, ok bool)
	// OneNode says the region is one broker node, so that a site with no
	// backlog reading is not connected at all and is sent nothing until
	// it connects (and asks). In a cluster it may be connected to
	// another node.
	OneNode bool
	// MaxBacklog is the backlog a send waits to fall under (8 MiB when 0).
	MaxBacklog int
	// PaceBytes is the rate without a backlog reading (4 MiB/s when 0).
	PaceBytes int
}

func (c *Config) setDefaults() {
	if c.ChunkBytes == 0 {
		c.ChunkBytes = gallerysync.DefaultChunkBytes
	}
	if c.ResendAfter == 0 {
		c.ResendAfter = DefaultResendAfter
	}
	if c.MaxBacklog == 0 {
		c.MaxBacklog = DefaultMaxBacklog
	}
	if c.PaceBytes == 0 {
		c.PaceBytes = DefaultPaceBytes
	}
	if c.MinResend == 0 {
		c.MinResend = min(DefaultMinResend, c.ResendAfter)
	}
	if c.SourceWait == 0 {
		c.SourceWait = DefaultSourceWait
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

func (c Config) validate() error {
	switch {
	case c.Store == nil:
		return errors.New("gallery: no store")
	case c.Conn == nil:
		return errors.New("gallery: no NATS connection")
	case c.Signer == nil:
		return errors.New("gallery: no signer")
	case wire.ValidateSegment(c.Region) != nil:
		return fmt.Errorf("gallery: region: %v", wire.ValidateSegment(c.Region))
	case c.ChunkBytes < 0:
		return fmt.Errorf("gallery: chunk bytes: %d, must be positive", c.ChunkBytes)
	case c.ResendAfter < 0, c.MinResend < 0, c.SourceWait < 0, c.Interval < 0:
		return errors.New("gallery: resend after, min resend, source wait and interval must be positive")
	}
	return nil
}

// Stats counts what a Publisher has sent since New.
type Stats struct {
	Revisions   uint64 // revisions published (a re-send counts again)
	Full        uint64 // of which full revisions
	Chunks      uint64
	Bytes       uint64 // chunk bytes published
	Errors      uint64 // failed rounds for a site; retried on the next tick
	Transfers   uint64 // transfers AdvanceTransfers moved on
	LastError   string
	LastErrorAt time.Time
}

// Publisher sends each site the revisions it has not acknowledged. Create
// it with New and call Run once; Kick, Notice and Stats may be called from
// any goroutine.
type Publisher struct {
	cfg  Config
	log  *slog.Logger
	kick chan struct{}

	mu sync.Mutex
	// asked: sites that asked for everything after their revision in
	// force, and when the newest ask came.
	asked map[string]time.Time
	// online: the sites whose latest status said online, so that only
	// coming online asks, not the status a site repeats while online.
	online map[string]bool
	stats  Stats

	// sent is owned by Run's goroutine.
	sent map[string]sentState

	running atomic.Bool
}

// sentState is what was last published to a site.
type sentState struct {
	through uint64 // the highest revision published
	// began is when the last send started publishing, everything after
	// the revision in force: an ask that came before it is answered by
	// it. at is when it ended: the wait for an acknowledgement starts.
	began, at time.Time
}

// New checks cfg and returns a Publisher.
func New(cfg Config) (*Publisher, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Publisher{cfg: cfg, log: cfg.Logger, kick: make(chan struct{}, 1),
		asked: map[string]time.Time{}, online: map[string]bool{}, sent: map[string]sentState{}}, nil
}

// Kick asks for a round now. With a site, the site asked: it is sent
// everything after its revision in force again without waiting for
// ResendAfter (it asked for a resync, refused a revision or came online),
// unless a send that began after the ask answers it, and not more often
// than MinResend. With "", every site in step is sent what was issued
// since the last round (a change was made, or a site acknowledged). It
// never blocks.
func (p *Publisher) Kick(site string) {
	if site != "" {
		now := p.cfg.Now()
		p.mu.Lock()
		p.asked[site] = now
		p.mu.Unlock()
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Notice kicks the publisher for a message an ingester stored: a site's
// gallery acknowledgement (a resync or a refusal is served at once; an
// applied one may have advanced a transfer, which issues revisions to
// another site), an enrolment from a site (which may issue one), or a
// site coming online.
// It is made to be the ingesters' OnStored hook and never blocks.
func (p *Publisher) Notice(m store.Message) {
	switch v := m.Payload.(type) {
	case wire.GalleryAck:
		if v.Status == wire.GalleryApplied {
			p.Kick("")
		} else {
			p.Kick(v.Site)
		}
	case wire.GalleryEnrolment:
		p.Kick("")
	case wire.SiteStatus:
		// A site repeats its online status while it stays online: only
		// the first after an offline one (or this process's first) asks.
		online := v.State == wire.SiteOnline
		p.mu.Lock()
		came := online && !p.online[v.Site]
		p.online[v.Site] = online
		p.mu.Unlock()
		if came {
			p.Kick(v.Site)
		}
	}
}

// Stats returns the counters.
func (p *Publisher) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Run serves the sites until ctx ends: at every Interval and every kick,
// it advances transfers and sends each site what it lacks. A failure
// for one site is logged and retried on the next round; Run returns nil
// when ctx ends.
func (p *Publisher) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("gallery: Run called twice")
	}
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		p.Round(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-p.kick:
		}
	}
}

// Round runs one round: AdvanceTransfers, then every site that is behind
// and due. Run calls it; it is exported so that a test can drive rounds
// one by one. It must not run concurrently with itself or Run.
func (p *Publisher) Round(ctx context.Context) {
	now := p.cfg.Now()
	if moved, err := p.cfg.Store.AdvanceTransfers(ctx, now, p.cfg.SourceWait); err != nil {
		p.fail(ctx, "", fmt.Errorf("advancing transfers: %w", err))
	} else if len(moved) > 0 {
		p.count(func(s *Stats) { s.Transfers += uint64(len(moved)) })
		for _, tr := range moved {
			p.log.Info("transfer moved on: the source site did not confirm in time",
				"transfer", tr.ID, "person", tr.Person, "state", tr.State)
		}
	}
	sites, err := p.cfg.Store.GallerySites(ctx)
	if err != nil {
		p.fail(ctx, "", fmt.Errorf("reading the sites: %w", err))
		return
	}
	p.mu.Lock()
	asked := p.asked
	p.asked = map[string]time.Time{}
	p.mu.Unlock()
	later := map[string]time.Time{} // asks not served this round
	for _, s := range sites {
		if ctx.Err() != nil {
			return
		}
		served, err := p.serve(ctx, s, asked[s.Site], now)
		if err != nil {
			p.fail(ctx, s.Site, err)
		}
		if !served {
			later[s.Site] = asked[s.Site]
		}
	}
	// An ask held back by MinResend is kept for a later round, unless
	// the site asked again meanwhile.
	if len(later) > 0 {
		p.mu.Lock()
		for site, at := range later {
			if _, again := p.asked[site]; !again {
				p.asked[site] = at
			}
		}
		p.mu.Unlock()
	}
}

// serve sends site what it lacks, if anything and if it is due. ask is
// when the site last asked to be sent everything after its revision in
// force (zero: it did not). served is false only when the ask had to
// wait for MinResend.
//
// Every send is everything after the revision in force. A site in step
// (it runs all it was sent) gets what is issued at once; one that has
// not acknowledged what it was sent gets nothing more until ResendAfter
// or until it asks: then one send of everything it lacks, where a full
// revision supersedes the one on its way. Unanswered, a site costs one
// send per ResendAfter, however often the gallery changes.
func (p *Publisher) serve(ctx context.Context, s store.GallerySite, ask, now time.Time) (served bool, err error) {
	if s.Issued <= s.InForce {
		delete(p.sent, s.Site)
		return true, nil
	}
	last, known := p.sent[s.Site]
	since := now.Sub(last.at)
	switch {
	case !known || last.through < s.InForce || last.through > s.Issued:
		// Nothing sent by this process, or what was sent does not fit
		// what the site runs.
	case !ask.IsZero() && !ask.Before(last.began):
		// The site asked after the last send began: it may miss some.
		if since < p.cfg.MinResend {
			return false, nil
		}
	case since >= p.cfg.ResendAfter:
		// Not acknowledged in time.
	case last.through == s.InForce:
		// In step: what was issued since it acknowledged.
	default:
		// Waiting for the site's acknowledgement.
		return true, nil
	}
	if p.cfg.Backlog != nil && p.cfg.OneNode {
		if _, ok := p.cfg.Backlog(s.Site); !ok {
			// Not connected: whatever went out now would be lost. Its
			// resync acknowledgement on connect asks for it.
			return true, nil
		}
	}
	revs, err := p.build(ctx, s)
	if err != nil {
		return true, err
	}
	began := p.cfg.Now()
	for i := range revs {
		n := revs[i].Number
		if err := p.publish(ctx, &revs[i]); err != nil {
			return true, err
		}
		// The wait for an acknowledgement starts when the revision is
		// out, not when the round began: a large one takes a while.
		p.sent[s.Site] = sentState{through: n, began: began, at: p.cfg.Now()}
	}
	return true, nil
}

// build makes the revisions after the site's revision in force: one full
// revision at site.Issued when it runs none or is too far behind, the
// deltas otherwise.
func (p *Publisher) build(ctx context.Context, s store.GallerySite) ([]gallerysync.Revision, error) {
	if s.InForce == 0 || s.Issued-s.InForce > MaxDeltas {
		r, err := p.Full(ctx, s.Site, s.Issued)
		if err != nil {
			return nil, err
		}
		return []gallerysync.Revision{r}, nil
	}
	var out []gallerysync.Revision
	for n := s.InForce + 1; n <= s.Issued; n++ {
		r, err := p.Delta(ctx, s.Site, n)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Delta builds revision n of site from the store: the persons it upserts
// with their current content, and those it removes.
func (p *Publisher) Delta(ctx context.Context, site string, n uint64) (gallerysync.Revision, error) {
	ops, err := p.cfg.Store.RevisionOps(ctx, site, n)
	if err != nil {
		return gallerysync.Revision{}, fmt.Errorf("revision %d: %w", n, err)
	}
	r := gallerysync.Revision{Region: p.cfg.Region, Site: site, Number: n, Base: n - 1, Issued: ops.Issued}
	if err := p.fill(ctx, &r, ops.Upserts, ops.Removals); err != nil {
		return gallerysync.Revision{}, fmt.Errorf("revision %d: %w", n, err)
	}
	return r, nil
}

// Full builds a full revision of site numbered n: every person assigned to
// the site now.
func (p *Publisher) Full(ctx context.Context, site string, n uint64) (gallerysync.Revision, error) {
	members, err := p.cfg.Store.SiteMembers(ctx, site)
	if err != nil {
		return gallerysync.Revision{}, fmt.Errorf("full revision %d: %w", n, err)
	}
	r := gallerysync.Revision{Region: p.cfg.Region, Site: site, Number: n, Full: true, Issued: p.cfg.Now().UTC()}
	if err := p.fill(ctx, &r, members, nil); err != nil {
		return gallerysync.Revision{}, fmt.Errorf("full revision %d: %w", n, err)
	}
	// A person who left the store between SiteMembers and the read is
	// simply absent from a full revision.
	r.Removals = nil
	return r, nil
}

// fill adds the upserted persons with their content, read in one audited
// bulk read, and the removals. An upserted person the store no longer
// holds becomes a removal.
func (p *Publisher) fill(ctx context.Context, r *gallerysync.Revision, upserts, removals []string) error {
	r.Removals = append(r.Removals, removals...)
	want := slices.DeleteFunc(slices.Clone(upserts), func(id string) bool { return slices.Contains(removals, id) })
	if len(want) == 0 {
		return nil
	}
	purpose := fmt.Sprintf("revision %d", r.Number)
	if r.Full {
		purpose += " (full)"
	}
	bios, err := p.cfg.Store.SiteBiometrics(ctx, Actor, r.Site, purpose, want)
	if err != nil {
		return err
	}
	// The revision shares the photos' and vectors' memory with bios,
	// which goes when fill returns: one copy of a site's biometrics.
	r.Upserts = make([]gallerysync.Person, 0, len(bios))
	for _, id := range want {
		b, ok := bios[id]
		if !ok {
			r.Removals = append(r.Removals, id)
			continue
		}
		r.Upserts = append(r.Upserts, toPerson(b.Person, b.Photos, b.Templates))
	}
	return nil
}

// publish signs, chunks and publishes one revision, then records it sent.
// Once it is encoded, r's persons are let go (the chunks carry them), and
// each chunk once the connection has taken it, so that a large revision
// is not held twice.
func (p *Publisher) publish(ctx context.Context, r *gallerysync.Revision) error {
	topic, err := wire.GalleryRevisionTopic(p.cfg.Region, r.Site)
	if err != nil {
		return err
	}
	subject, err := broker.Subject(topic)
	if err != nil {
		return err
	}
	chunks, err := p.cfg.Signer.Chunks(*r, p.cfg.ChunkBytes)
	if err != nil {
		return fmt.Errorf("revision %d: %w", r.Number, err)
	}
	upserts, removals := len(r.Upserts), len(r.Removals)
	r.Upserts, r.Removals = nil, nil
	n := len(chunks)
	var bytes uint64
	for i := range chunks {
		if err := p.cfg.Conn.Publish(subject, chunks[i]); err != nil {
			return fmt.Errorf("revision %d: publish chunk %d/%d: %w", r.Number, i+1, n, err)
		}
		size := len(chunks[i])
		bytes += uint64(size)
		chunks[i] = nil // the connection copied it
		// The flush makes the broker take the chunk, so that the site's
		// backlog counts it before the next one goes.
		if err := p.cfg.Conn.FlushTimeout(flushTimeout); err != nil {
			return fmt.Errorf("revision %d: flush after chunk %d/%d: %w", r.Number, i+1, n, err)
		}
		if n > 1 && i < n-1 {
			if err := p.pace(ctx, r.Site, size); err != nil {
				return fmt.Errorf("revision %d: after chunk %d/%d: %w", r.Number, i+1, n, err)
			}
		}
	}
	if err := p.cfg.Store.NoteRevisionSent(ctx, r.Site, r.Number, p.cfg.Now()); err != nil {
		return fmt.Errorf("revision %d: %w", r.Number, err)
	}
	p.count(func(s *Stats) {
		s.Revisions++
		if r.Full {
			s.Full++
		}
		s.Chunks += uint64(n)
		s.Bytes += bytes
	})
	p.log.Info("gallery revision sent", "site", r.Site, "revision", r.Number, "full", r.Full,
		"upserts", upserts, "removals", removals, "chunks", n, "bytes", bytes)
	return nil
}

// backlogPoll is how often a paced send looks at the site's backlog, and
// backlogStall how long it waits for a site that reads nothing.
const (
	backlogPoll  = 5 * time.Millisecond
	backlogStall = time.Minute
)

// pace waits, after a chunk of size bytes went to site, until the next
// may go: while the broker holds more than MaxBacklog bytes the site has
// not read, or, without a backlog reading, for size at PaceBytes a
// second. A site that disconnects, or reads nothing for backlogStall,
// ends the send: it is sent again when it asks or after ResendAfter.
func (p *Publisher) pace(ctx context.Context, site string, size int) error {
	if p.cfg.Backlog != nil {
		if pending, ok := p.cfg.Backlog(site); ok {
			stalled := time.NewTimer(backlogStall)
			defer stalled.Stop()
			for pending > p.cfg.MaxBacklog {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-stalled.C:
					return fmt.Errorf("the site read nothing of %d bytes for %v", pending, backlogStall)
				case <-time.After(backlogPoll):
				}
				if pending, ok = p.cfg.Backlog(site); !ok {
					return errors.New("the site disconnected")
				}
			}
			return nil
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(float64(size) / float64(p.cfg.PaceBytes) * float64(time.Second))):
		return nil
	}
}

func (p *Publisher) count(f func(*Stats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

func (p *Publisher) fail(ctx context.Context, site string, err error) {
	if ctx.Err() != nil {
		return // stopping: the round was cut short, nothing failed
	}
	now := p.cfg.Now()
	p.count(func(s *Stats) { s.Errors++; s.LastError, s.LastErrorAt = err.Error(), now })
	if site != "" {
		p.log.Warn("gallery: sending to the site failed; retrying", "site", site, "err", err)
		return
	}
	p.log.Warn("gallery: round failed; retrying", "err", err)
}
