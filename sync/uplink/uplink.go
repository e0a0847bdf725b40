package uplink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/dozor-edge/dozor/internal/backoff"
	"github.com/dozor-edge/dozor/sync/wire"
)

// State is where the uplink is in its connection cycle.
type State string

// The states Stats reports.
const (
	StateIdle       State = "idle"       // Run has not started
	StateConnecting State = "connecting" // a connection attempt is under way
	StateConnected  State = "connected"  // connected; the site status says online
	StateWaiting    State = "waiting"    // between attempts, after an error
	StateStopped    State = "stopped"    // Run has returned
)

// Stats is a snapshot of the uplink for health reports and metrics.
type Stats struct {
	State     State
	Connected bool
	// Broker is the (redacted) URL of the current or last connection.
	Broker string
	// LastError is the last connection, protocol or store error, kept
	// after recovery so a health page can say what happened.
	LastError   string
	LastErrorAt time.Time
	// ConnectAttempts counts attempts (each tries every broker once);
	// Connects counts those that succeeded.
	ConnectAttempts uint64
	Connects        uint64
	// Published counts PUBLISH packets from the outbox, Resent those for a
	// sequence number published before (after a reconnect), Sent the
	// messages acknowledged and marked sent, Skipped the messages that
	// could never be published (see Run).
	Published uint64
	Resent    uint64
	Sent      uint64
	Skipped   uint64
	InFlight  int
	// LastSentSeq is the highest sequence number marked sent, NewestSeq
	// the highest the uplink has read from the outbox; their difference,
	// LagSeq, is how far the region is behind what the uplink has seen.
	LastSentSeq uint64
	NewestSeq   uint64
	LagSeq      uint64
	// OutboxDepth is the outbox's count of unsent messages when it is
	// a DepthReporter, refreshed every few seconds even while
	// disconnected; -1 otherwise.
	OutboxDepth int
	// States is the number of retained state topics set with
	// SetRetained; StatesPublished counts their PUBLISH packets.
	States          int
	StatesPublished uint64
	// ResendRequests counts the region's resend requests accepted (those
	// merged into one already queued included), ResendIgnored those
	// refused (malformed, for another site, the queue full), and
	// ResentOnRequest the PUBLISH packets of messages published again for
	// them.
	ResendRequests  uint64
	ResendIgnored   uint64
	ResentOnRequest uint64
	// GalleryChunks counts the messages received on the gallery revision
	// topic and handed to Options.OnGalleryRevision.
	GalleryChunks uint64
}

// Options are the uplink's collaborators besides the outbox.
type Options struct {
	// Status, if set, fills the site status published at every connect
	// (version, camera counts). The uplink sets site, state, time and, when
	// the outbox is a DepthReporter, the outbox depth.
	Status func() wire.SiteStatus
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// OnGalleryRevision, if set, receives every message delivered on the
	// site's gallery revision topic (the region's signed chunks), which
	// the uplink then subscribes to with QoS 1 after each connect. It runs
	// on the MQTT client's goroutine and must not block: it should only
	// queue the payload. The payload is the client's own copy.
	OnGalleryRevision func(payload []byte)
	// OnConnect, if set, is called once after each connect, when the
	// subscriptions are in place and before the outbox drains. It runs on
	// the uplink's goroutine and must not block.
	OnConnect func()
}

// Uplink drains a site's outbox to the regional MQTT broker. Create it with
// New and call Run once.
type Uplink struct {
	cfg         Config
	outbox      Outbox
	depth       DepthReporter // nil if the outbox cannot count
	log         *slog.Logger
	status      func() wire.SiteStatus
	now         func() time.Time
	statusTopic string
	resendTopic string
	// galleryTopic is the site's gallery revision topic; "" when no
	// OnGalleryRevision is set, so nothing is subscribed.
	galleryTopic string
	onGallery    func([]byte)
	onConnect    func()
	statusEvery  time.Duration // the online status's repeat while connected
	notify       chan struct{}
	stateKick    chan struct{} // SetRetained changed a state
	resendKick   chan struct{} // a resend request was queued
	running      atomic.Bool

	mu           sync.Mutex
	stats        Stats
	maxPublished uint64              // highest seq ever published, to count resends
	depthAt      time.Time           // when stats.OutboxDepth was last refreshed
	retained     map[string][]byte   // latest state payload per topic
	dirty        map[string]struct{} // states set since last published
	resendQ      []*resendJob        // accepted resend requests; the first is served
	badResend    struct {            // ignored resend requests not yet logged
		n        int
		loggedAt time.Time
	}
}

// Tuning that is not worth a configuration key.
const (
	// stableAfter is how long a connection must last before the backoff
	// starts again from MinBackoff; shorter connections (a broker that
	// accepts and then drops, two boxes fighting over one client ID) keep
	// doubling it.
	stableAfter = 30 * time.Second
	// storeRetry is the pause after an outbox error before trying again,
	// without dropping the connection.
	storeRetry = time.Second
	// shutdownGrace bounds the goodbye: offline status, last
	// acknowledgements, DISCONNECT.
	shutdownGrace = 3 * time.Second
	// statusEvery is how often a connected uplink publishes its online
	// status again: a quiet site's fresh outbox depth and newest seq
	// reach the region without waiting for a reconnect.
	statusEvery = 5 * time.Minute
	// depthEvery throttles OutboxDepth queries.
	depthEvery = 2 * time.Second
	// retryJitter takes up to half off each wait between connection
	// attempts: a region's boxes that lost the broker together spread
	// their returns over half the delay.
	retryJitter = 0.5
)

// retryPolicy paces connection attempts.
func (c Config) retryPolicy() backoff.Policy {
	return backoff.Policy{Min: c.MinBackoff, Max: c.MaxBackoff, Jitter: retryJitter}
}

// New checks the configuration, reads the secret files once (a missing
// file is a configuration error) and returns an uplink ready to Run.
func New(cfg Config, outbox Outbox, log *slog.Logger, opts Options) (*Uplink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if outbox == nil {
		return nil, errors.New("uplink: no outbox")
	}
	if log == nil {
		return nil, errors.New("uplink: no logger")
	}
	if _, err := cfg.loadSecrets(); err != nil {
		return nil, err
	}
	topic, err := wire.SiteStatusTopic(cfg.Region, cfg.Site)
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	resendTopic, err := wire.ResendTopic(cfg.Region, cfg.Site)
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	var galleryTopic string
	if opts.OnGalleryRevision != nil {
		if galleryTopic, err = wire.GalleryRevisionTopic(cfg.Region, cfg.Site); err != nil {
			return nil, fmt.Errorf("uplink: %w", err)
		}
	}
	u := &Uplink{
		cfg:          cfg,
		galleryTopic: galleryTopic,
		onGallery:    opts.OnGalleryRevision,
		onConnect:    opts.OnConnect,
		outbox:       outbox,
		log:          log.With("component", "uplink", "site", cfg.Site),
		status:       opts.Status,
		now:          opts.Now,
		statusTopic:  topic,
		resendTopic:  resendTopic,
		statusEvery:  statusEvery,
		notify:       make(chan struct{}, 1),
		stateKick:    make(chan struct{}, 1),
		resendKick:   make(chan struct{}, 1),
		retained:     map[string][]byte{},
		dirty:        map[string]struct{}{},
		stats:        Stats{State: StateIdle, OutboxDepth: -1},
	}
	if d, ok := outbox.(DepthReporter); ok {
		u.depth = d
	}
	if u.now == nil {
		u.now = time.Now
	}
	if cfg.InsecureSkipVerify {
		u.log.Warn("broker certificate verification is off (insecure_skip_verify); use it for commissioning only")
	}
	return u, nil
}

// Notify tells the uplink that the outbox has new messages. It never
// blocks; any number of calls before the uplink looks again count as one.
func (u *Uplink) Notify() {
	select {
	case u.notify <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot.
func (u *Uplink) Stats() Stats {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.stats
	s.States = len(u.retained)
	if s.NewestSeq > s.LastSentSeq {
		s.LagSeq = s.NewestSeq - s.LastSentSeq
	}
	return s
}

func (u *Uplink) update(f func(s *Stats)) {
	u.mu.Lock()
	f(&u.stats)
	u.mu.Unlock()
}

func (u *Uplink) recordError(err error) {
	now := u.now()
	u.update(func(s *Stats) { s.LastError, s.LastErrorAt = err.Error(), now })
}

// Run connects, keeps connecting, and drains the outbox until ctx ends;
// then it says goodbye (offline status, DISCONNECT) and returns nil once
// everything it started has stopped. Connection and broker trouble is
// logged, shown in Stats and retried with a jittered backoff from
// MinBackoff to MaxBackoff; it is never fatal.
//
// Delivery is at least once and in order: messages are published with
// QoS 1 in ascending Seq, at most Window unacknowledged, and marked sent
// only as an unbroken prefix whose PUBACKs have all arrived. After a
// reconnect everything not yet marked is published again in order, so a
// receiver that keeps the first copy of each seq sees them ascending.
//
// A message that can never be published (its topic is not this site's
// dozor/v1 topic, its payload is larger than its kind's wire.MaxPayloadLenOf, its QoS
// is above 2) would stop the queue for good; it is logged as an error,
// counted in Stats.Skipped and marked sent. Its row stays in the store.
func (u *Uplink) Run(ctx context.Context) error {
	if !u.running.CompareAndSwap(false, true) {
		return errors.New("uplink: Run is already running")
	}
	defer u.running.Store(false)
	defer u.update(func(s *Stats) { s.State, s.Connected, s.InFlight = StateStopped, false, 0 })

	failures := 0
	for ctx.Err() == nil {
		up, err := u.session(ctx)
		if ctx.Err() != nil {
			break
		}
		if err == nil { // a session ends with an error unless ctx ended it
			err = errors.New("connection ended")
		}
		if up >= stableAfter {
			failures = 0
		}
		delay := u.cfg.retryPolicy().Delay(failures, rand.Float64())
		failures++
		u.recordError(err)
		u.update(func(s *Stats) { s.State, s.Connected, s.InFlight = StateWaiting, false, 0 })
		u.log.Warn("no connection to the broker", "err", err, "retry_in", delay.Round(time.Millisecond), "failures", failures)
		u.refreshDepth(ctx, true)
		backoff.Sleep(ctx, delay)
	}
	u.log.Info("uplink stopped")
	return nil
}

// session is one connection: connect, publish online, drain. It returns
// how long the connection was up and why it ended (nil when ctx ended it).
func (u *Uplink) session(ctx context.Context) (time.Duration, error) {
	bc, err := u.cfg.connect(ctx, connParams{
		clientID:     u.cfg.clientID(),
		cleanSession: false,
		willTopic:    u.statusTopic,
		willPayload:  u.siteStatus(ctx, wire.SiteOffline, "connection lost"),
		attempting: func() {
			u.update(func(s *Stats) { s.State = StateConnecting; s.ConnectAttempts++ })
		},
		onMessage: u.onMessage,
	})
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil
		}
		return 0, err
	}
	start := u.now()
	defer bc.close()
	err = u.drain(ctx, bc)
	return u.now().Sub(start), err
}

// flight is a message taken from the outbox in this session.
type flight struct {
	seq uint64
	tok mqtt.Token // nil for a skipped message: nothing to wait for
	at  time.Time  // when it was published
}

func (f flight) done() bool {
	if f.tok == nil {
		return true
	}
	select {
	case <-f.tok.Done():
		return true
	default:
		return false
	}
}

// drain publishes the online status (and again every statusEvery),
// subscribes to the region's resend requests, then publishes the outbox and
// serves those requests, until the connection is lost, an acknowledgement
// is overdue, or ctx ends.
func (u *Uplink) drain(ctx context.Context, bc *brokerConn) error {
	client, lost, broker := bc.client, bc.lost, bc.broker
	ackTimer := time.NewTimer(u.cfg.AckTimeout)
	defer ackTimer.Stop()
	online := client.Publish(u.statusTopic, 1, true, u.siteStatus(ctx, wire.SiteOnline, ""))
	select {
	case <-ctx.Done():
		u.shutdown(ctx, client, lost, nil)
		return nil
	case <-lost:
		return fmt.Errorf("connection lost before the online status was acknowledged: %w", bc.lostErr)
	case <-ackTimer.C:
		return fmt.Errorf("no PUBACK for the online status within %v", u.cfg.AckTimeout)
	case <-online.Done():
		if err := online.Error(); err != nil {
			return fmt.Errorf("publish online status: %w", err)
		}
	}
	if err := u.subscribeResend(ctx, bc); err != nil {
		return err
	}
	if err := u.subscribeGallery(ctx, bc); err != nil {
		return err
	}
	if ctx.Err() != nil {
		u.shutdown(ctx, client, lost, nil)
		return nil
	}
	var sentBefore uint64
	u.update(func(s *Stats) {
		s.State, s.Connected, s.Broker = StateConnected, true, broker
		s.Connects++
		sentBefore = s.Sent
	})
	u.log.Info("connected to the broker", "broker", broker, "client_id", u.cfg.clientID())
	if u.onConnect != nil {
		u.onConnect()
	}
	u.refreshDepth(ctx, true)
	// Every stored state again: the broker may have lost its retained
	// copies, and those set while disconnected were never sent.
	states := u.publishStates(client, true, nil)

	poll := time.NewTicker(u.cfg.PollInterval)
	defer poll.Stop()
	// The repeated status is not waited for: a lost connection shows on
	// lost, and the next repeat or connect carries newer values anyway.
	repeat := time.NewTicker(u.statusEvery)
	defer repeat.Stop()
	var (
		q       []flight    // taken from the outbox, not yet marked sent, in seq order
		resend  resendChunk // the part of a resend request in flight
		after   uint64      // highest seq taken in this session
		more    = true      // the outbox may hold messages after `after`
		retry   <-chan time.Time
		start   = u.now()
		drained bool // the first empty outbox of this session was logged
		wasIdle bool // nothing in flight and nothing more to read, last time round
		refill  = max(1, u.cfg.Window/4)
	)
	for {
		// Checked here as well as in the wait: once ctx ends the outbox
		// refuses to mark, and an acknowledged head would otherwise send
		// the loop round without ever reaching the wait.
		if ctx.Err() != nil {
			u.shutdown(ctx, client, lost, q)
			return nil
		}
		// Mark the acknowledged prefix sent.
		n := 0
		for n < len(q) && q[n].done() {
			if q[n].tok != nil {
				if err := q[n].tok.Error(); err != nil {
					return fmt.Errorf("publish seq %d: %w", q[n].seq, err)
				}
			}
			n++
		}
		if n > 0 && retry == nil {
			if err := u.markSent(ctx, q[:n]); err != nil {
				if ctx.Err() == nil {
					u.storeTrouble("mark messages sent", err)
					retry = time.After(storeRetry)
				}
			} else {
				q = append(q[:0], q[n:]...)
				u.refreshDepth(ctx, false)
			}
		}

		// Top the window up, in batches so that a long backlog is not read
		// one row per acknowledgement.
		for more && retry == nil && (len(q) == 0 || u.cfg.Window-len(q) >= refill) {
			room := u.cfg.Window - len(q)
			msgs, err := u.outbox.Pending(ctx, after, room)
			if err != nil {
				if ctx.Err() == nil {
					u.storeTrouble("read the outbox", err)
					retry = time.After(storeRetry)
				}
				break
			}
			if len(msgs) > room {
				return fmt.Errorf("outbox returned %d messages for a limit of %d", len(msgs), room)
			}
			more = len(msgs) == room
			for _, m := range msgs {
				if m.Seq <= after {
					return fmt.Errorf("outbox returned seq %d after %d; Pending must return ascending seqs above afterSeq", m.Seq, after)
				}
				after = m.Seq
				q = append(q, u.publish(client, m))
			}
		}

		// The region's requests for ranges it missed, one chunk at a time.
		if retry == nil {
			storeFailed, err := u.serveResend(ctx, client, &resend)
			if err != nil {
				return err
			}
			if storeFailed {
				retry = time.After(storeRetry)
			}
		}

		states = u.pruneStates(states)
		u.update(func(s *Stats) { s.InFlight = len(q) })
		idle := !more && len(q) == 0
		if idle && !wasIdle {
			u.refreshDepth(ctx, true)
			if !drained {
				drained = true
				if sent := u.Stats().Sent - sentBefore; sent > 0 {
					u.log.Info("outbox drained", "sent", sent, "took", u.now().Sub(start).Round(time.Millisecond))
				}
			}
		}
		wasIdle = idle

		// The head's state is read once: a PUBACK landing between two
		// reads would leave the wait below with neither the head's token
		// nor the ack timer, and the queue would stall until the next poll.
		headAcked := len(q) > 0 && q[0].done()
		resendTok, resendSeq := resend.waiting()
		if (headAcked || resend.job != nil && resendTok == nil) && retry == nil {
			continue // acknowledged (or skipped) meanwhile: mark it, or go on with the resend, before waiting
		}
		var headDone, resendDone <-chan struct{}
		var deadline time.Time
		headFirst := false
		ackTimer.Stop()
		if len(q) > 0 && !headAcked {
			headDone = q[0].tok.Done()
			deadline, headFirst = q[0].at.Add(u.cfg.AckTimeout), true
		}
		if resendTok != nil {
			resendDone = resendTok.Done()
			if d := resend.at.Add(u.cfg.AckTimeout); deadline.IsZero() || d.Before(deadline) {
				deadline, headFirst = d, false
			}
		}
		if !deadline.IsZero() {
			ackTimer.Reset(time.Until(deadline))
		}
		select {
		case <-ctx.Done():
			u.shutdown(ctx, client, lost, q)
			return nil
		case <-lost:
			return fmt.Errorf("connection lost: %w", bc.lostErr)
		case <-headDone:
		case <-resendDone:
		case <-u.resendKick:
		case <-ackTimer.C:
			if !headFirst {
				return fmt.Errorf("no PUBACK for seq %d, published again at the region's request, within %v; reopening the connection", resendSeq, u.cfg.AckTimeout)
			}
			return fmt.Errorf("no PUBACK for seq %d within %v; reopening the connection", q[0].seq, u.cfg.AckTimeout)
		case <-u.notify:
			more = true
		case <-u.stateKick:
			states = u.publishStates(client, false, states)
		case <-poll.C:
			more = true
			u.refreshDepth(ctx, false)
		case <-repeat.C:
			client.Publish(u.statusTopic, 1, true, u.siteStatus(ctx, wire.SiteOnline, ""))
		case <-retry:
			retry, more = nil, true
		}
	}
}

// publish sends one outbox message, or skips one that can never be sent.
func (u *Uplink) publish(client mqtt.Client, m Message) flight {
	if reason := u.unpublishable(m); reason != "" {
		u.log.Error("outbox message cannot be published; marking it sent so the queue moves on (the row stays in the store)",
			"seq", m.Seq, "topic", clipString(m.Topic, 200), "reason", reason)
		u.update(func(s *Stats) { s.Skipped++; s.NewestSeq = max(s.NewestSeq, m.Seq) })
		return flight{seq: m.Seq}
	}
	tok := client.Publish(m.Topic, 1, m.Retain, m.Payload)
	u.update(func(s *Stats) {
		s.Published++
		if m.Seq <= u.maxPublished {
			s.Resent++
		}
		u.maxPublished = max(u.maxPublished, m.Seq)
		s.NewestSeq = max(s.NewestSeq, m.Seq)
	})
	return flight{seq: m.Seq, tok: tok, at: u.now()}
}

// unpublishable says why a message can never be published, or "".
func (u *Uplink) unpublishable(m Message) string {
	if m.QoS > 2 {
		return fmt.Sprintf("QoS %d", m.QoS)
	}
	t, err := wire.ParseTopic(m.Topic)
	if err != nil {
		return err.Error()
	}
	if limit := wire.MaxPayloadLenOf(t.Kind); len(m.Payload) > limit {
		return fmt.Sprintf("payload of %d bytes, larger than %d", len(m.Payload), limit)
	}
	switch {
	case t.Kind == wire.KindHWTest:
		return "hardware-test pings are the hardware test's own and never pass through the outbox"
	case !t.Kind.FromSite():
		return fmt.Sprintf("%v messages go from the region to the sites", t.Kind)
	}
	if t.Region != u.cfg.Region || t.Site != u.cfg.Site {
		return fmt.Sprintf("topic of region %q site %q; this uplink is region %q site %q", t.Region, t.Site, u.cfg.Region, u.cfg.Site)
	}
	return ""
}

func (u *Uplink) markSent(ctx context.Context, fs []flight) error {
	seqs := make([]uint64, len(fs))
	acked := uint64(0)
	for i, f := range fs {
		seqs[i] = f.seq
		if f.tok != nil {
			acked++
		}
	}
	if err := u.outbox.MarkSent(ctx, seqs); err != nil {
		return err
	}
	u.update(func(s *Stats) {
		s.Sent += acked
		s.LastSentSeq = max(s.LastSentSeq, seqs[len(seqs)-1])
	})
	return nil
}

func (u *Uplink) storeTrouble(what string, err error) {
	err = fmt.Errorf("outbox: %s: %w", what, err)
	u.recordError(err)
	u.log.Error("outbox error; retrying", "err", err, "retry_in", storeRetry)
}

// shutdown is the goodbye: the offline status (retained) replaces the
// online one, since a DISCONNECT makes the broker drop the will; PUBACKs
// come back in order, so once the status is acknowledged so is everything
// published before it, and that is marked sent to spare duplicates at the
// next start. Retained states changed just before the stop (cameras
// marked stopped, say) go out first, so the offline status's PUBACK
// covers them too: the stop and a state change can be ready together,
// and the loop's select may take the stop.
func (u *Uplink) shutdown(ctx context.Context, client mqtt.Client, lost <-chan struct{}, q []flight) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	u.publishStates(client, false, nil)
	tok := client.Publish(u.statusTopic, 1, true, u.siteStatus(ctx, wire.SiteOffline, "shutdown"))
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			u.log.Warn("offline status not sent", "err", err)
		}
	case <-lost:
	case <-ctx.Done():
		u.log.Warn("offline status not acknowledged in time", "waited", shutdownGrace)
	}
	n := 0
	for n < len(q) && q[n].done() && (q[n].tok == nil || q[n].tok.Error() == nil) {
		n++
	}
	if n > 0 {
		if err := u.markSent(ctx, q[:n]); err != nil {
			u.log.Warn("could not mark the last acknowledged messages sent; they will be sent again", "err", err, "count", n)
		}
	}
}

// siteStatus builds the encoded site status for a connect, the will or the
// goodbye.
func (u *Uplink) siteStatus(ctx context.Context, state, reason string) []byte {
	var st wire.SiteStatus
	if u.status != nil {
		st = u.status()
	}
	at := u.now().UTC()
	if at.Before(wire.Epoch) {
		// The box's clock is unset (no battery, no time server yet). The
		// wire refuses such times, and a status the region refused would
		// hide the box altogether: it goes out at the earliest time the
		// wire takes, and the log says why.
		u.log.Error("the system clock is unset; the site status carries the wire's earliest time instead",
			"clock", at, "sent_as", wire.Epoch)
		at = wire.Epoch
	}
	st.Site, st.State, st.At, st.Reason = u.cfg.Site, state, at, reason
	if state == wire.SiteOffline {
		st.CamerasUp = 0
	}
	if d, ok := u.refreshDepth(ctx, false); ok {
		st.OutboxDepth = d
	}
	b, err := wire.Encode(st)
	if err != nil {
		u.log.Error("site status from Options.Status is invalid; sending a minimal one", "err", err)
		b, err = wire.Encode(wire.SiteStatus{Site: u.cfg.Site, State: state, At: st.At, Reason: reason})
		if err != nil { // the site and state were validated in New; this is a bug
			panic(fmt.Sprintf("uplink: minimal site status: %v", err))
		}
	}
	return b
}

// refreshDepth asks a DepthReporter outbox for its depth, at most every
// depthEvery unless forced, and returns the latest known value.
func (u *Uplink) refreshDepth(ctx context.Context, force bool) (int, bool) {
	if u.depth == nil {
		return 0, false
	}
	u.mu.Lock()
	fresh := !force && u.now().Sub(u.depthAt) < depthEvery
	cached := u.stats.OutboxDepth
	u.mu.Unlock()
	if fresh && cached >= 0 {
		return cached, true
	}
	qctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	d, err := u.depth.OutboxDepth(qctx)
	if err != nil {
		return cached, cached >= 0
	}
	now := u.now()
	u.update(func(s *Stats) { s.OutboxDepth = d })
	u.mu.Lock()
	u.depthAt = now
	u.mu.Unlock()
	return d, true
}

func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
