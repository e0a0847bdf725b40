package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sync/errgroup"

	"github.com/dozor-edge/dozor/sync/wire"
)

// Site is one simulated facility's MQTT login: the username is the site id.
type Site struct {
	ID, Password string
}

// Sent describes one message's first publish (Config.OnSent).
type Sent struct {
	Site string
	Seq  uint64 // 0 for statuses
	Kind wire.Kind
	At   time.Time
}

// Config is one load run.
type Config struct {
	// Brokers are MQTT URLs (tcp://host:port, ssl://host:port); site i
	// connects to Brokers[i % len(Brokers)].
	Brokers []string
	TLS     *tls.Config
	Region  string
	Sites   []Site
	// Schedule is the offered load; Duration how long it is offered.
	Schedule Schedule
	Duration time.Duration
	// Window bounds each site's messages awaiting a PUBACK (default 32).
	Window int
	// AckTimeout is how long the oldest of them may wait before the site
	// reconnects and publishes them again (default 10 s).
	AckTimeout time.Duration
	// Drain bounds the wait for the last PUBACKs after Duration (default
	// 60 s); what is still unacknowledged then is reported as such.
	Drain time.Duration
	// OnSent, when set, is called as each message is first published
	// (from the sites' goroutines, concurrently).
	OnSent func(Sent)
	Logger *slog.Logger
}

func (c *Config) validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("loadgen: brokers: none")
	case len(c.Sites) == 0:
		return errors.New("loadgen: sites: none")
	case c.Schedule.Rate <= 0:
		return fmt.Errorf("loadgen: rate: %v, want > 0", c.Schedule.Rate)
	case c.Duration <= 0:
		return fmt.Errorf("loadgen: duration: %v, want > 0", c.Duration)
	case c.Window < 0 || c.AckTimeout < 0 || c.Drain < 0:
		return errors.New("loadgen: window, ack timeout and drain must not be negative")
	}
	if err := wire.ValidateSegment(c.Region); err != nil {
		return fmt.Errorf("loadgen: region: %w", err)
	}
	seen := map[string]bool{}
	for i, s := range c.Sites {
		if err := wire.ValidateSegment(s.ID); err != nil {
			return fmt.Errorf("loadgen: sites[%d]: %w", i, err)
		}
		if seen[s.ID] {
			return fmt.Errorf("loadgen: sites[%d]: %s listed twice", i, s.ID)
		}
		seen[s.ID] = true
	}
	if c.Window == 0 {
		c.Window = 32
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = 10 * time.Second
	}
	if c.Drain == 0 {
		c.Drain = 60 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Run connects every site, offers the load for Duration, waits for the
// outstanding PUBACKs (at most Drain), disconnects and reports. A site that
// cannot connect at the start fails the run; ctx ending stops it early with
// what was counted so far.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.validate(); err != nil {
		return Report{}, err
	}
	sites := make([]*siteRun, len(cfg.Sites))
	for i, s := range cfg.Sites {
		sites[i] = &siteRun{
			cfg: &cfg, login: s, url: cfg.Brokers[i%len(cfg.Brokers)],
			gen:  newSiteGen(cfg.Region, s.ID, uint64(i+1)),
			kick: make(chan struct{}, 1),
		}
	}

	// Connecting costs the broker a bcrypt comparison per site: a few at
	// a time.
	var g errgroup.Group
	g.SetLimit(8)
	for _, s := range sites {
		g.Go(func() error { return s.connectRetrying(ctx) })
	}
	err := g.Wait()
	defer func() {
		for _, s := range sites {
			s.disconnect()
		}
	}()
	if err != nil {
		return Report{}, err
	}

	start := time.Now()
	var wg sync.WaitGroup
	for _, s := range sites {
		wg.Go(func() { s.run(ctx) })
	}
	pace(ctx, cfg.Schedule, cfg.Duration, sites)
	offered := time.Since(start)
	drainCtx, cancel := context.WithTimeout(ctx, cfg.Drain)
	defer cancel()
	for _, s := range sites {
		s.setDrainCtx(drainCtx)
	}
	wg.Wait()
	return report(cfg, sites, offered, time.Since(start)), ctx.Err()
}

// pace hands the due messages to the sites in turn until d has passed.
func pace(ctx context.Context, s Schedule, d time.Duration, sites []*siteRun) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var handed int64
	for {
		elapsed := time.Since(start)
		due := s.Due(min(elapsed, d))
		for ; handed < due; handed++ {
			sites[handed%int64(len(sites))].addDue()
		}
		if elapsed >= d {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// flight is a published message awaiting its PUBACK.
type flight struct {
	m   message
	tok mqtt.Token
	at  time.Time
}

// siteRun is one simulated site: its connection, its messages in flight
// and its counts.
type siteRun struct {
	cfg   *Config
	login Site
	url   string
	gen   *siteGen

	mu       sync.Mutex
	due      int64
	drainCtx context.Context
	kick     chan struct{}

	client     mqtt.Client
	lost       chan error
	made       int64
	inflight   []flight
	counts     [len(kindSlots)]KindCount
	reconnects int
	err        error
}

// kindSlots are the kinds the generator publishes, in the order reports
// list them.
var kindSlots = [...]wire.Kind{wire.KindSighting, wire.KindAlert, wire.KindAlertDecision, wire.KindAudit, wire.KindSiteStatus, wire.KindCameraStatus}

func slot(k wire.Kind) int {
	for i, s := range kindSlots {
		if s == k {
			return i
		}
	}
	panic("loadgen: unexpected kind " + k.String())
}

func (s *siteRun) addDue() {
	s.mu.Lock()
	s.due++
	s.mu.Unlock()
	s.signal()
}

func (s *siteRun) signal() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *siteRun) setDrainCtx(ctx context.Context) {
	s.mu.Lock()
	s.drainCtx = ctx
	s.mu.Unlock()
	s.signal()
}

func (s *siteRun) state() (due int64, drain context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.due, s.drainCtx
}

// connect opens a new connection for the site (clean session off, like a
// facility's uplink).
func (s *siteRun) connect(ctx context.Context) error {
	lost := make(chan error, 1)
	opts := mqtt.NewClientOptions().AddBroker(s.url).
		SetClientID("loadgen-" + strings.ReplaceAll(s.login.ID, ".", "-")).
		SetUsername(s.login.ID).SetPassword(s.login.Password).
		SetCleanSession(false).SetAutoReconnect(false).SetConnectRetry(false).
		SetProtocolVersion(4).SetKeepAlive(30 * time.Second).
		SetConnectTimeout(30 * time.Second).SetWriteTimeout(30 * time.Second).
		SetOrderMatters(true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err })
	if s.cfg.TLS != nil {
		opts.SetTLSConfig(s.cfg.TLS)
	}
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("loadgen: site %s: connect to %s: %w", s.login.ID, s.url, err)
	}
	s.client, s.lost = c, lost
	return nil
}

// connectRetrying makes the first connection, retrying a few times: a
// cluster's MQTT listener may still be setting up its own streams.
func (s *siteRun) connectRetrying(ctx context.Context) error {
	var err error
	for wait := time.Second; wait <= 8*time.Second; wait *= 2 {
		if err = s.connect(ctx); err == nil || ctx.Err() != nil {
			return err
		}
		s.cfg.Logger.Warn("site cannot connect yet; retrying", "site", s.login.ID, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return err
}

func (s *siteRun) disconnect() {
	if s.client != nil && s.client.IsConnectionOpen() {
		s.client.Disconnect(250)
	}
}

// run publishes the site's due messages, at most Window awaiting PUBACK,
// until pacing has ended and everything is acknowledged (or the drain
// time is up, or ctx ends).
func (s *siteRun) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, drain := s.state()
		s.settle(ctx)
		for s.made < due && len(s.inflight) < s.cfg.Window {
			now := time.Now()
			m, err := s.gen.next(now)
			if err != nil {
				s.err = err
				return
			}
			s.made++
			c := &s.counts[slot(m.kind)]
			c.Sent++
			s.inflight = append(s.inflight, flight{m: m, tok: s.client.Publish(m.topic, 1, m.retain, m.payload), at: now})
			if s.cfg.OnSent != nil {
				s.cfg.OnSent(Sent{Site: s.login.ID, Seq: m.seq, Kind: m.kind, At: now})
			}
		}
		s.settle(ctx)
		var drainDone <-chan struct{}
		if drain != nil {
			if s.made == due && len(s.inflight) == 0 {
				return
			}
			drainDone = drain.Done()
		}
		var headDone <-chan struct{}
		if len(s.inflight) > 0 {
			headDone = s.inflight[0].tok.Done()
			timer.Reset(time.Until(s.inflight[0].at.Add(s.cfg.AckTimeout)))
		}
		select {
		case <-ctx.Done():
			return
		case <-drainDone:
			return
		case <-s.kick:
		case <-headDone:
		case err := <-s.lost:
			s.reopen(ctx, fmt.Errorf("connection lost: %w", err))
		case <-timer.C:
			if len(s.inflight) > 0 {
				s.reopen(ctx, fmt.Errorf("no PUBACK for seq %d within %v", s.inflight[0].m.seq, s.cfg.AckTimeout))
			}
		}
	}
}

// settle counts the PUBACKs received; a publish that failed makes the
// site reconnect.
func (s *siteRun) settle(ctx context.Context) {
	kept := s.inflight[:0]
	var failed error
	for _, f := range s.inflight {
		select {
		case <-f.tok.Done():
			if err := f.tok.Error(); err != nil {
				failed = err
				kept = append(kept, f)
				continue
			}
			s.counts[slot(f.m.kind)].Acked++
		default:
			kept = append(kept, f)
		}
	}
	s.inflight = kept
	if failed != nil {
		s.reopen(ctx, failed)
	}
}

// reopen replaces the connection and publishes every unacknowledged
// message again, oldest first. It retries until ctx ends.
func (s *siteRun) reopen(ctx context.Context, why error) {
	s.reconnects++
	s.cfg.Logger.Warn("site reconnecting", "site", s.login.ID, "reason", why, "unacked", len(s.inflight))
	s.client.Disconnect(0)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		if err := s.connect(ctx); err == nil {
			break
		} else if ctx.Err() != nil {
			return
		} else {
			s.cfg.Logger.Warn("site reconnect failed", "site", s.login.ID, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	now := time.Now()
	for i := range s.inflight {
		f := &s.inflight[i]
		f.tok, f.at = s.client.Publish(f.m.topic, 1, f.m.retain, f.m.payload), now
		s.counts[slot(f.m.kind)].Republished++
	}
}
