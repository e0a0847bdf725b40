package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dozor-edge/dozor/region/broker"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/wire"
)

// Store is what the ingester needs from the region's store.
type Store interface {
	// Ingest stores one decoded message in one transaction, each (site,
	// seq) once: a repeat is a Duplicate, not an error.
	Ingest(ctx context.Context, m store.Message) (store.Outcome, error)
	// Quarantine keeps a message the region refused, bytes and reason.
	Quarantine(ctx context.Context, q store.QuarantineEntry) error
	// Sites lists the sites the store knows, so their gaps can be read.
	Sites(ctx context.Context) ([]store.Site, error)
	// Gaps lists a site's open gaps in its sequence numbers.
	Gaps(ctx context.Context, site string) ([]store.Gap, error)
	// NoteResendRequested records that a gap was asked for at at.
	NoteResendRequested(ctx context.Context, site string, g store.Gap, at time.Time) error
}

// Defaults for the zero values of Config.
const (
	DefaultDurable       = "regiond"
	DefaultBatch         = 100
	DefaultResendAfter   = 10 * time.Second
	DefaultAckWait       = 30 * time.Second
	DefaultMaxAckPending = 1000
	DefaultGapInterval   = time.Second

	// MaxResendBackoff bounds the wait between two requests for one gap.
	MaxResendBackoff = 5 * time.Minute
)

// Config configures an Ingester. Zero values take the defaults above.
type Config struct {
	// Region is the region's ID; its sites' messages are under
	// dozor/v1/{Region}/.
	Region string
	// Stream names the JetStream stream to consume; empty means
	// broker.StreamName(Region).
	Stream string
	// Durable names the consumer that every replica shares.
	Durable string
	// Batch is how many messages one fetch asks for.
	Batch int
	// AckWait is how long the server waits for an ack before it delivers
	// a message again (to this or another replica).
	AckWait time.Duration
	// MaxAckPending bounds the messages delivered and not yet acked,
	// across every replica.
	MaxAckPending int
	// ResendAfter is how old a gap must be before the site is asked for
	// it; later requests for the same gap wait twice as long each time, up
	// to MaxResendBackoff.
	ResendAfter time.Duration
	// GapInterval is how often the open gaps are read.
	GapInterval time.Duration
	Logger      *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// OnStored, when set, is called with each message the store took as
	// new, after its commit and ack (the dashboard's live events). It runs
	// on the ingester's goroutine and must not block.
	OnStored func(store.Message)
}

func (c *Config) setDefaults() {
	if c.Stream == "" {
		c.Stream = broker.StreamName(c.Region)
	}
	if c.Durable == "" {
		c.Durable = DefaultDurable
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.ResendAfter == 0 {
		c.ResendAfter = DefaultResendAfter
	}
	if c.GapInterval == 0 {
		c.GapInterval = DefaultGapInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// validate checks the configuration after defaults, naming the field.
func (c Config) validate() error {
	switch {
	case wire.ValidateSegment(c.Region) != nil:
		return fmt.Errorf("ingest: region: %v", wire.ValidateSegment(c.Region))
	case c.Batch < 0:
		return fmt.Errorf("ingest: batch: %d, must be positive", c.Batch)
	case c.AckWait < 0:
		return fmt.Errorf("ingest: ack wait: %v, must be positive", c.AckWait)
	case c.MaxAckPending < 0:
		return fmt.Errorf("ingest: max ack pending: %d, must be positive", c.MaxAckPending)
	case c.MaxAckPending < c.Batch:
		return fmt.Errorf("ingest: max ack pending: %d is below batch %d", c.MaxAckPending, c.Batch)
	case c.ResendAfter < 0:
		return fmt.Errorf("ingest: resend after: %v, must be positive", c.ResendAfter)
	case c.GapInterval < 0:
		return fmt.Errorf("ingest: gap interval: %v, must be positive", c.GapInterval)
	}
	return nil
}

// Stats counts what an Ingester has done since New.
type Stats struct {
	Received       uint64 // messages taken from the stream (redeliveries included)
	Stored         uint64
	Duplicates     uint64
	Quarantined    uint64
	StoreErrors    uint64 // store failures; each message is delivered again later
	ResendRequests uint64
	LastError      string
	LastErrorAt    time.Time
}

// Ingester consumes the region's stream into the store. Several Ingesters,
// in one process or several, share the durable consumer and split the
// messages between them.
type Ingester struct {
	nc   *nats.Conn
	st   Store
	cfg  Config
	cons jetstream.Consumer
	log  *slog.Logger

	mu    sync.Mutex
	stats Stats
	// These aggregate log lines so that a store that is down, or a site
	// that sends garbage, does not log once per message.
	storeErrs, quarantines, ackErrs, fetchErrs, gapErrs *aggregate
}

// New creates (or updates) the durable consumer and returns an Ingester
// ready to Run. js is a JetStream context on nc; nc also publishes the
// resend requests, with core NATS.
func New(js jetstream.JetStream, nc *nats.Conn, st Store, cfg Config) (*Ingester, error) {
	if js == nil || nc == nil || st == nil {
		return nil, errors.New("ingest: nil jetstream, connection or store")
	}
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		Description:   "regiond ingest: every site message of region " + cfg.Region + " into the store",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxAckPending: cfg.MaxAckPending,
		// A message is never given up: it is acked once stored or
		// quarantined, and retried while the store fails.
		MaxDeliver: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: consumer %s on stream %s: %w", cfg.Durable, cfg.Stream, err)
	}
	log := cfg.Logger.With("component", "ingest", "stream", cfg.Stream, "consumer", cfg.Durable)
	return &Ingester{
		nc: nc, st: st, cfg: cfg, cons: cons, log: log,
		storeErrs:   newAggregate(log, slog.LevelError, "store errors; the messages will be delivered again", cfg.Now),
		quarantines: newAggregate(log, slog.LevelWarn, "messages quarantined", cfg.Now),
		ackErrs:     newAggregate(log, slog.LevelWarn, "acks failed; those messages will be delivered again and dropped as duplicates", cfg.Now),
		fetchErrs:   newAggregate(log, slog.LevelWarn, "fetch errors; retrying", cfg.Now),
		gapErrs:     newAggregate(log, slog.LevelWarn, "gap repair errors", cfg.Now),
	}, nil
}

// Stats returns a snapshot of the counters.
func (i *Ingester) Stats() Stats {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.stats
}

// Run consumes until ctx ends, and runs the gap repair loop beside it. It
// finishes the message in hand (stored and acked, or handed back) before
// it returns nil; the rest of a fetched batch is handed back for
// redelivery.
func (i *Ingester) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { i.repairGaps(ctx) })
	err := i.consume(ctx)
	wg.Wait()
	i.flushLogs()
	return err
}

func (i *Ingester) consume(ctx context.Context) error {
	for ctx.Err() == nil {
		if err := i.fetch(ctx); err != nil && ctx.Err() == nil {
			// The server or the connection is away: the client reconnects
			// by itself; wait a little and ask again.
			i.noteError(err)
			i.fetchErrs.add(err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// fetchWait bounds one pull request. A pull is not cancelled when Run's
// context ends: the server may have messages for it in flight, which would
// then sit unacked until AckWait. Instead it runs to its end, which bounds
// how long Run takes to return, and what it brings after ctx ended is
// handed back at once.
const fetchWait = time.Second

func (i *Ingester) fetch(ctx context.Context) error {
	batch, err := i.cons.Fetch(i.cfg.Batch, jetstream.FetchMaxWait(fetchWait))
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	for msg := range batch.Messages() {
		if ctx.Err() != nil {
			// Hand the rest back now rather than after AckWait.
			_ = msg.Nak()
			continue
		}
		i.handle(ctx, msg)
	}
	if err := batch.Error(); err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	return nil
}

// handle processes one message to its end: stored or quarantined and
// acked, or handed back with a delay when the store fails. It runs on a
// context detached from Run's so that a shutdown does not cut a message in
// half.
func (i *Ingester) handle(runCtx context.Context, msg jetstream.Msg) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(runCtx), i.cfg.AckWait)
	defer cancel()
	now := i.cfg.Now()
	i.count(func(s *Stats) { s.Received++ })

	data := msg.Data()
	topic, err := broker.Topic(msg.Subject())
	if err != nil {
		i.quarantine(ctx, msg, store.QuarantineEntry{Topic: msg.Subject(), Raw: data, Reason: "subject: " + err.Error(), Received: now})
		return
	}
	wm, err := wire.Decode(topic, data, now)
	if err != nil {
		q := store.QuarantineEntry{Topic: topic, Raw: data, Reason: err.Error(), Received: now}
		if t, terr := wire.ParseTopic(topic); terr == nil {
			q.Site = t.Site
		}
		i.quarantine(ctx, msg, q)
		return
	}
	sm := store.Message{Topic: wm.Topic, Seq: wm.Seq(), Payload: wm.Payload, Raw: data, Received: now}
	out, err := i.st.Ingest(ctx, sm)
	if err != nil {
		i.retryLater(msg, fmt.Errorf("store %s seq %d: %w", topic, wm.Seq(), err))
		return
	}
	// Counted after the ack, so that a count is a message that is done.
	i.ack(ctx, msg)
	switch out {
	case store.Stored:
		i.count(func(s *Stats) { s.Stored++ })
		if i.cfg.OnStored != nil {
			i.cfg.OnStored(sm)
		}
	case store.Duplicate:
		i.count(func(s *Stats) { s.Duplicates++ })
	case store.Quarantined:
		// The store refused it (a broken audit chain) and kept it in the
		// quarantine with the reason in the same transaction.
		i.count(func(s *Stats) { s.Quarantined++ })
		i.quarantines.add(fmt.Errorf("%s seq %d quarantined by the store", topic, wm.Seq()))
	}
}

func (i *Ingester) quarantine(ctx context.Context, msg jetstream.Msg, q store.QuarantineEntry) {
	if err := i.st.Quarantine(ctx, q); err != nil {
		i.retryLater(msg, fmt.Errorf("quarantine %s: %w", q.Topic, err))
		return
	}
	i.ack(ctx, msg)
	i.count(func(s *Stats) { s.Quarantined++ })
	i.quarantines.add(fmt.Errorf("%s: %s", q.Topic, q.Reason))
}

// ack waits for the server to confirm, so that a message counted as done is
// not delivered again; if the ack is lost the message comes back and the
// store reports a duplicate.
func (i *Ingester) ack(ctx context.Context, msg jetstream.Msg) {
	if err := msg.DoubleAck(ctx); err != nil {
		err = fmt.Errorf("ack %s: %w", msg.Subject(), err)
		i.noteError(err)
		i.ackErrs.add(err)
	}
}

// retryLater hands the message back with a delay that grows with its
// delivery count (1s, 2s, 4s ... 30s), so a store that is down is not
// hammered and nothing is lost.
func (i *Ingester) retryLater(msg jetstream.Msg, err error) {
	i.count(func(s *Stats) { s.StoreErrors++ })
	i.noteError(err)
	i.storeErrs.add(err)
	delay := time.Second
	if md, merr := msg.Metadata(); merr == nil {
		for n := uint64(1); n < md.NumDelivered && delay < 30*time.Second; n++ {
			delay *= 2
		}
	}
	delay = min(delay, 30*time.Second)
	if nerr := msg.NakWithDelay(delay); nerr != nil {
		// The server will deliver it again after AckWait anyway.
		i.log.Warn("nak failed", "subject", msg.Subject(), "err", nerr)
	}
}

func (i *Ingester) count(f func(*Stats)) {
	i.mu.Lock()
	f(&i.stats)
	i.mu.Unlock()
}

func (i *Ingester) noteError(err error) {
	now := i.cfg.Now()
	i.count(func(s *Stats) { s.LastError, s.LastErrorAt = err.Error(), now })
}

func (i *Ingester) flushLogs() {
	i.storeErrs.flush()
	i.quarantines.flush()
	i.ackErrs.flush()
	i.fetchErrs.flush()
	i.gapErrs.flush()
}
