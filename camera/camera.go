package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/pion/rtp"

	"github.com/dozor-edge/dozor/internal/backoff"
)

// Transports a camera session may use.
const (
	TransportTCP = "tcp" // RTP interleaved in the RTSP connection (the default)
	TransportUDP = "udp"
)

// Default watchdog thresholds.
const (
	DefaultPacketTimeout  = 10 * time.Second
	DefaultPictureTimeout = 15 * time.Second
	DefaultStallAfter     = 5 * time.Second
	DefaultProbeInterval  = 2 * time.Second
)

// errorLogEvery is how often stream errors are summarised in the log (a
// variable for the tests).
var errorLogEvery = time.Minute

// Config is one camera.
type Config struct {
	// ID names the camera in frames, logs and health.
	ID string
	// URL is rtsp://[user:password@]host[:port]/path (or rtsps://). The
	// password never leaves this package except to the camera.
	URL string
	// Transport is TransportTCP (default) or TransportUDP.
	Transport string
	// SampleRate is frames per second handed to the recognizer
	// (DefaultSampleRate when 0; every picture when negative).
	SampleRate float64
	// MaxSide is the detection resolution: the longest side of handed-off
	// frames (DefaultMaxSide when 0; the decoded size when negative).
	MaxSide int
	// ChipMaxSide is the longest side of the full-resolution picture
	// handed off beside each frame for cutting face chips
	// (DefaultChipMaxSide when 0; none when negative).
	ChipMaxSide int
	// DecodeAll decodes disposable pictures that are not due for sampling
	// too, which a camera otherwise leaves undecoded (see TrackConfig):
	// for measuring what that saves.
	DecodeAll bool
	// PacketTimeout restarts a session that received no RTP packet for
	// this long; PictureTimeout one that decoded no picture for this long
	// although packets arrive (a frozen stream). StallAfter is when the
	// camera is first reported as stalled, before the restart.
	PacketTimeout, PictureTimeout, StallAfter time.Duration
	// Backoff paces reconnections (DefaultBackoff when zero).
	Backoff backoff.Policy
	// ProbeInterval: while waiting after a refused connection, the camera's
	// TCP port is probed this often and the wait ends as soon as it
	// accepts, so a camera that comes back is streaming again within
	// seconds however long it was away. 0: DefaultProbeInterval;
	// negative: no probing.
	ProbeInterval time.Duration
}

func (c *Config) setDefaults() {
	if c.Transport == "" {
		c.Transport = TransportTCP
	}
	if c.PacketTimeout == 0 {
		c.PacketTimeout = DefaultPacketTimeout
	}
	if c.PictureTimeout == 0 {
		c.PictureTimeout = DefaultPictureTimeout
	}
	if c.StallAfter == 0 {
		c.StallAfter = min(DefaultStallAfter, c.PacketTimeout)
	}
	if c.Backoff == (backoff.Policy{}) {
		c.Backoff = DefaultBackoff
	}
	if c.ProbeInterval == 0 {
		c.ProbeInterval = DefaultProbeInterval
	}
}

// Validate checks the configuration (after defaults) and names the field
// at fault. Errors quote the URL redacted.
func (c *Config) Validate() error {
	if c.ID == "" {
		return errors.New("camera: id is empty")
	}
	if err := checkURL(c.URL); err != nil {
		return fmt.Errorf("camera %s: url %s: %w", c.ID, Redact(c.URL), err)
	}
	if c.Transport != TransportTCP && c.Transport != TransportUDP {
		return fmt.Errorf("camera %s: transport %q: want %q or %q", c.ID, c.Transport, TransportTCP, TransportUDP)
	}
	if c.SampleRate > 1000 || c.SampleRate != c.SampleRate {
		return fmt.Errorf("camera %s: sample rate %v: want at most 1000 per second (0: default, negative: every picture)", c.ID, c.SampleRate)
	}
	if c.MaxSide > MaxPictureSide {
		return fmt.Errorf("camera %s: max side %d exceeds %d", c.ID, c.MaxSide, MaxPictureSide)
	}
	if c.ChipMaxSide > MaxPictureSide {
		return fmt.Errorf("camera %s: chip max side %d exceeds %d", c.ID, c.ChipMaxSide, MaxPictureSide)
	}
	if c.StallAfter <= 0 || c.PacketTimeout < c.StallAfter || c.PictureTimeout < c.StallAfter {
		return fmt.Errorf("camera %s: timeouts: need 0 < stall after (%v) <= packet timeout (%v), picture timeout (%v)",
			c.ID, c.StallAfter, c.PacketTimeout, c.PictureTimeout)
	}
	if err := c.Backoff.Validate(); err != nil {
		return fmt.Errorf("camera %s: %w", c.ID, err)
	}
	return nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("does not parse")
	}
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		return fmt.Errorf("scheme %q: want rtsp or rtsps", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("no host")
	}
	if _, err := base.ParseURL(raw); err != nil {
		return errors.New("not a valid RTSP URL")
	}
	return nil
}

// Options are a camera's collaborators.
type Options struct {
	// Logger receives state changes and error summaries (never one line
	// per frame); it gets a "camera" attribute. Nil discards.
	Logger *slog.Logger
	// Decoders opens the decoder of each session (avcodec.Factory).
	Decoders DecoderFactory
	// Out receives the frames.
	Out *Latest
	// Live receives every valid access unit before it is decoded, for
	// the live view (camera/live.Hub); nil: none. It is called on the
	// packet goroutine and must not block.
	Live LiveSink
	// Now and Rand replace the clock and the jitter source in tests.
	Now  func() time.Time
	Rand func() float64
}

// Camera is one supervised camera. Create it with New, run it with Run,
// read its Health from any goroutine.
type Camera struct {
	cfg      Config
	opt      Options
	log      *slog.Logger
	scrub    scrubber
	redacted string
	check    time.Duration // watchdog tick

	running atomic.Bool
	seq     atomic.Uint64
	frames  atomic.Uint64
	drops   atomic.Uint64
	stalls  atomic.Uint64
	lastFrm atomic.Int64
	pktErrs atomic.Uint64 // transport-level errors reported by the RTSP client

	mu       sync.Mutex
	h        Health     // state fields; counters are filled in by Health
	base     TrackStats // counters of finished sessions
	track    *Track     // the current session's track
	lastErr  string     // last stream error, for the periodic summary
	sessions int
	rate     rateMeter
}

// New validates cfg and returns a camera ready to Run.
func New(cfg Config, opt Options) (*Camera, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Decoders == nil {
		return nil, fmt.Errorf("camera %s: no decoder factory", cfg.ID)
	}
	if opt.Out == nil {
		return nil, fmt.Errorf("camera %s: no frame hand-off", cfg.ID)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Rand == nil {
		opt.Rand = rand.Float64
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Camera{
		cfg: cfg, opt: opt, scrub: newScrubber(cfg.URL), redacted: Redact(cfg.URL),
		check: min(max(min(cfg.StallAfter, cfg.PacketTimeout, cfg.PictureTimeout)/20, 10*time.Millisecond), 250*time.Millisecond),
	}
	c.log = log.With("camera", cfg.ID, "url", c.redacted)
	c.h = Health{Camera: cfg.ID, URL: c.redacted, State: StateIdle, Since: opt.Now()}
	return c, nil
}

// ID is the camera's id.
func (c *Camera) ID() string { return c.cfg.ID }

// Health returns a snapshot of the camera's state and counters.
func (c *Camera) Health() Health {
	c.mu.Lock()
	h := c.h
	s := c.base
	if c.track != nil {
		s = addStats(s, c.track.Stats())
	}
	h.FPSIn, h.FPSOut = c.rate.in, c.rate.out
	c.mu.Unlock()
	h.Packets, h.PacketsLost, h.RTPErrors = s.Packets, s.Lost, s.RTPErrors+c.pktErrs.Load()
	h.Skipped, h.Pictures, h.Undecoded, h.DecodeErrors = s.Skipped, s.Pictures, s.Undecoded, s.DecodeErrors
	if s.Width > 0 {
		h.Width, h.Height = s.Width, s.Height
	}
	h.Frames, h.Drops, h.Stalls = c.frames.Load(), c.drops.Load(), c.stalls.Load()
	if n := c.lastFrm.Load(); n != 0 {
		h.LastFrame = time.Unix(0, n)
	}
	return h
}

func addStats(a, b TrackStats) TrackStats {
	a.Packets += b.Packets
	a.Lost += b.Lost
	a.RTPErrors += b.RTPErrors
	a.Skipped += b.Skipped
	a.AccessUnits += b.AccessUnits
	a.Pictures += b.Pictures
	a.Undecoded += b.Undecoded
	a.DecodeErrors += b.DecodeErrors
	a.Frames += b.Frames
	if b.Width > 0 {
		a.Width, a.Height = b.Width, b.Height
	}
	return a
}

// setState records a state change and logs it when the state or the
// reason changed (repeats of the same failure are logged at debug level:
// a camera down for a week writes one warning, not ten thousand).
func (c *Camera) setState(s State, r Reason, detail string, status int, next time.Time) {
	detail = c.scrub.clean(detail)
	c.mu.Lock()
	old := c.h
	if s != old.State {
		c.h.Since = c.opt.Now()
	}
	c.h.State, c.h.NextAttempt = s, next
	if s != StateConnecting || r != ReasonNone { // connecting keeps the last failure visible
		c.h.Reason, c.h.Error, c.h.StatusCode = r, detail, status
	}
	c.mu.Unlock()
	if s == old.State && r == old.Reason {
		if s == StateBackingOff || s == StateFailed {
			c.log.Debug("camera retrying", "state", s.String(), "reason", string(r), "error", detail, "retry_in", time.Until(next).Round(time.Millisecond))
		}
		return
	}
	switch s {
	case StateStreaming:
		h := c.Health()
		c.log.Info("camera streaming", "codec", string(h.Codec), "width", h.Width, "height", h.Height)
	case StateConnecting:
		c.log.Debug("camera connecting")
	case StateStalled:
		c.log.Warn("camera stalled", "reason", string(r), "error", detail)
	case StateBackingOff, StateFailed:
		c.log.Warn("camera down", "state", s.String(), "reason", string(r), "status", status, "error", detail,
			"retry_in", next.Sub(c.opt.Now()).Round(time.Millisecond))
	case StateStopped:
		c.log.Info("camera stopped")
	}
}

// Run supervises the camera until ctx ends: connect, stream, and after any
// failure wait (jittered exponential backoff) and connect again, forever.
// Camera trouble never ends Run; it returns nil once ctx is done and every
// goroutine it started has exited. Run may be called once.
func (c *Camera) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return fmt.Errorf("camera %s: Run called twice", c.cfg.ID)
	}
	failures := 0
	for ctx.Err() == nil { // bounded by ctx: a camera is retried for as long as it is configured
		res := c.session(ctx)
		c.rate.reset(&c.mu)
		if ctx.Err() != nil {
			break
		}
		if res.streamed {
			failures = 0
		}
		delay := c.cfg.Backoff.Delay(failures, c.opt.Rand())
		failures = min(failures+1, 64)
		state := StateBackingOff
		if res.reason.failed() {
			state = StateFailed
		}
		c.setState(state, res.reason, res.detail, res.status, c.opt.Now().Add(delay))
		c.wait(ctx, delay, res.reason == ReasonUnreachable)
	}
	c.setState(StateStopped, ReasonNone, "", 0, time.Time{})
	return nil
}

// wait sleeps for the backoff delay; after a refused connection it probes
// the camera's port and returns early once it accepts.
func (c *Camera) wait(ctx context.Context, delay time.Duration, probe bool) {
	t := time.NewTimer(delay)
	defer t.Stop()
	var tick <-chan time.Time
	if probe && c.cfg.ProbeInterval > 0 && c.cfg.ProbeInterval < delay {
		tk := time.NewTicker(c.cfg.ProbeInterval)
		defer tk.Stop()
		tick = tk.C
	}
	for { // bounded by the timer
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-tick:
			if c.probe(ctx) {
				return
			}
		}
	}
}

func (c *Camera) probe(ctx context.Context) bool {
	u, err := url.Parse(c.cfg.URL)
	if err != nil {
		return false
	}
	port := u.Port()
	if port == "" {
		port = "554"
		if u.Scheme == "rtsps" {
			port = "322"
		}
	}
	pctx, cancel := context.WithTimeout(ctx, min(time.Second, c.cfg.ProbeInterval))
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(pctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// sessionResult is how a session ended.
type sessionResult struct {
	reason   Reason
	detail   string
	status   int
	streamed bool // at least one picture was decoded
}

// session is one RTSP session, from dial to teardown.
type session struct {
	playAt atomic.Int64 // when PLAY succeeded (unix nanos); 0 before
	mu     sync.Mutex
	fired  *sessionResult // set by the watchdog
}

func (s *session) fire(r sessionResult) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fired != nil {
		return false
	}
	s.fired = &r
	return true
}

func (s *session) firedResult() *sessionResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fired
}

func (c *Camera) session(ctx context.Context) (res sessionResult) {
	c.mu.Lock()
	c.sessions++
	if c.sessions > 1 {
		c.h.Reconnects++
	}
	c.mu.Unlock()
	c.setState(StateConnecting, ReasonNone, "", 0, time.Time{})

	u, err := base.ParseURL(c.cfg.URL)
	if err != nil { // validated in New; kept for safety
		return sessionResult{reason: ReasonProtocol, detail: "url does not parse"}
	}
	tr := gortsplib.TransportTCP
	if c.cfg.Transport == TransportUDP {
		tr = gortsplib.TransportUDP
	}
	client := &gortsplib.Client{
		Scheme:    u.Scheme,
		Host:      u.Host,
		Transport: &tr,
		// The watchdog decides about silent streams; the client's own
		// timeout only bounds RTSP requests and comes later.
		ReadTimeout:  c.cfg.PacketTimeout + 2*time.Second,
		WriteTimeout: c.cfg.PacketTimeout,
		UserAgent:    "dozor",
		OnDecodeError: func(err error) {
			c.pktErrs.Add(1)
			c.noteErr(err)
		},
	}
	if err := client.Start2(); err != nil {
		return c.classify(err)
	}
	s := &session{}
	var track *Track
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.watch(ctx, client, s, func() *Track {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.track
		}, done)
	}()
	defer func() {
		client.Close() // no packet callback runs after this returns
		close(done)
		wg.Wait()
		if track != nil {
			st := track.Stats()
			res.streamed = st.Pictures > 0
			c.mu.Lock()
			c.base = addStats(c.base, st)
			c.track = nil
			c.mu.Unlock()
			if err := track.Close(); err != nil {
				c.log.Warn("camera: closing decoder", "error", err)
			}
		}
		if f := s.firedResult(); f != nil {
			res.reason, res.detail, res.status = f.reason, f.detail, f.status
		}
	}()

	desc, _, err := client.Describe(u)
	if err != nil {
		return c.classify(fmt.Errorf("describe: %w", err))
	}
	medi, forma, err := pickVideo(desc)
	if err != nil {
		return sessionResult{reason: ReasonUnsupportedCodec, detail: err.Error()}
	}
	tc := TrackConfig{SampleRate: c.cfg.SampleRate, MaxSide: c.cfg.MaxSide, ChipMaxSide: c.cfg.ChipMaxSide,
		DecodeAll: c.cfg.DecodeAll, Live: c.opt.Live}
	switch f := forma.(type) {
	case *format.H264:
		sps, pps := f.SafeParams()
		tc.Codec, tc.PacketizationMode = H264, f.PacketizationMode
		tc.Params = nonNil(sps, pps)
	case *format.H265:
		vps, sps, pps := f.SafeParams()
		tc.Codec, tc.Params = H265, nonNil(vps, sps, pps)
	}
	dec, err := c.opt.Decoders(tc.Codec)
	if err != nil {
		r := ReasonDecoder
		if errors.Is(err, ErrUnsupportedCodec) {
			r = ReasonUnsupportedCodec
		}
		return sessionResult{reason: r, detail: fmt.Sprintf("open %s decoder: %v", tc.Codec, err)}
	}
	tc.Decoder = dec
	track, err = NewTrack(tc)
	if err != nil {
		dec.Close()
		r := ReasonProtocol
		if errors.Is(err, ErrUnsupportedCodec) {
			r = ReasonUnsupportedCodec
		}
		return sessionResult{reason: r, detail: err.Error()}
	}
	c.mu.Lock()
	c.track = track
	c.h.Codec, c.h.Width, c.h.Height = tc.Codec, 0, 0
	c.mu.Unlock()

	if _, err := client.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return c.classify(fmt.Errorf("setup: %w", err))
	}
	client.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) { c.onPacket(track, pkt) })
	if _, err := client.Play(nil); err != nil {
		return c.classify(fmt.Errorf("play: %w", err))
	}
	s.playAt.Store(c.opt.Now().UnixNano())
	return c.classify(client.Wait())
}

func nonNil(ps ...[]byte) [][]byte {
	var out [][]byte
	for _, p := range ps {
		if len(p) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// pickVideo chooses the first H.264 or H.265 track of the session.
func pickVideo(desc *description.Session) (*description.Media, format.Format, error) {
	if desc == nil {
		return nil, nil, fmt.Errorf("no session description: %w", ErrUnsupportedCodec)
	}
	var offered []string
	for _, m := range desc.Medias {
		for _, f := range m.Formats {
			switch f.(type) {
			case *format.H264, *format.H265:
				return m, f, nil
			}
			offered = append(offered, f.Codec())
		}
	}
	if len(offered) == 0 {
		return nil, nil, fmt.Errorf("stream offers no media: %w", ErrUnsupportedCodec)
	}
	return nil, nil, fmt.Errorf("stream offers %s; want H264 or H265: %w", strings.Join(offered, ", "), ErrUnsupportedCodec)
}

// onPacket runs on the RTSP client's reader goroutine for every packet.
func (c *Camera) onPacket(t *Track, pkt *rtp.Packet) {
	f, err := t.WritePacket(pkt, c.opt.Now())
	if err != nil {
		c.noteErr(err)
	}
	if f == nil {
		return
	}
	f.Camera = c.cfg.ID
	f.Seq = c.seq.Add(1)
	c.frames.Add(1)
	c.lastFrm.Store(f.Captured.UnixNano())
	if old := c.opt.Out.Put(f); old != nil {
		c.drops.Add(1)
		old.Release()
	}
}

func (c *Camera) noteErr(err error) {
	c.mu.Lock()
	c.lastErr = err.Error()
	c.mu.Unlock()
}

// watch is the session's watchdog: it ends the session when ctx ends,
// when no packet arrived for PacketTimeout, or when no picture decoded for
// PictureTimeout; it reports stalls, keeps the frame rates and summarises
// stream errors in the log.
func (c *Camera) watch(ctx context.Context, client *gortsplib.Client, s *session, track func() *Track, done <-chan struct{}) {
	tick := time.NewTicker(c.check)
	defer tick.Stop()
	var sum errSummary
	for { // bounded by done
		select {
		case <-done:
			return
		case <-ctx.Done():
			client.Close()
			<-done
			return
		case <-tick.C:
		}
		now := c.opt.Now()
		c.rate.update(&c.mu, now, c.Health())
		c.summarise(&sum, now)
		play := s.playAt.Load()
		t := track()
		if play == 0 || t == nil || s.firedResult() != nil {
			continue
		}
		playAt := time.Unix(0, play)
		lastPkt, lastPic := t.LastPacket(), t.LastPicture()
		sincePkt := now.Sub(later(lastPkt, playAt))
		sincePic := now.Sub(later(lastPic, playAt))
		switch {
		case sincePkt >= c.cfg.PacketTimeout:
			c.fire(client, s, ReasonNoPackets, fmt.Sprintf("no RTP packet for %v", sincePkt.Round(10*time.Millisecond)))
		case sincePic >= c.cfg.PictureTimeout:
			c.fire(client, s, ReasonNoPictures, fmt.Sprintf("packets arrive but no picture decoded for %v", sincePic.Round(10*time.Millisecond)))
		case sincePkt >= c.cfg.StallAfter:
			c.setState(StateStalled, ReasonNoPackets, fmt.Sprintf("no RTP packet for %v", sincePkt.Round(10*time.Millisecond)), 0, time.Time{})
		case sincePic >= c.cfg.StallAfter:
			c.setState(StateStalled, ReasonNoPictures, fmt.Sprintf("no picture decoded for %v", sincePic.Round(10*time.Millisecond)), 0, time.Time{})
		case lastPic.After(playAt) || lastPic.Equal(playAt):
			if c.stateIs(StateConnecting, StateStalled) {
				c.setState(StateStreaming, ReasonNone, "", 0, time.Time{})
			}
		}
	}
}

func (c *Camera) stateIs(states ...State) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range states {
		if c.h.State == s {
			return true
		}
	}
	return false
}

func (c *Camera) fire(client *gortsplib.Client, s *session, r Reason, detail string) {
	if !s.fire(sessionResult{reason: r, detail: detail}) {
		return
	}
	c.stalls.Add(1)
	c.setState(StateStalled, r, detail, 0, time.Time{})
	// Close waits for the client's goroutines; the packet callback never
	// waits for the watchdog, so this cannot deadlock.
	client.Close()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// errSummary remembers the error counters at the last log line.
type errSummary struct {
	at                      time.Time
	rtp, decode, lost, skip uint64
}

func (c *Camera) summarise(s *errSummary, now time.Time) {
	if s.at.IsZero() {
		h := c.Health()
		*s = errSummary{at: now, rtp: h.RTPErrors, decode: h.DecodeErrors, lost: h.PacketsLost, skip: h.Skipped}
		return
	}
	if now.Sub(s.at) < errorLogEvery {
		return
	}
	h := c.Health()
	d := errSummary{at: now, rtp: h.RTPErrors, decode: h.DecodeErrors, lost: h.PacketsLost, skip: h.Skipped}
	if d.rtp > s.rtp || d.decode > s.decode || d.lost > s.lost {
		c.mu.Lock()
		last := c.lastErr
		c.mu.Unlock()
		c.log.Warn("camera stream errors", "period", now.Sub(s.at).Round(time.Second),
			"rtp_errors", d.rtp-s.rtp, "decode_errors", d.decode-s.decode, "packets_lost", d.lost-s.lost,
			"skipped", d.skip-s.skip, "last", c.scrub.clean(last))
	}
	*s = d
}

// classify maps how a session ended to a reason.
func (c *Camera) classify(err error) sessionResult {
	if err == nil {
		return sessionResult{reason: ReasonDisconnected, detail: "session ended"}
	}
	r := sessionResult{detail: c.scrub.clean(err.Error())}
	var status liberrors.ErrClientBadStatusCode
	var op *net.OpError
	switch {
	case errors.As(err, &status):
		r.status = int(status.Code)
		switch status.Code {
		case base.StatusUnauthorized:
			r.reason = ReasonUnauthorized
		case base.StatusForbidden:
			r.reason = ReasonForbidden
		case base.StatusNotFound:
			r.reason = ReasonNotFound
		default:
			r.reason = ReasonStatus
		}
	case errors.Is(err, ErrUnsupportedCodec):
		r.reason = ReasonUnsupportedCodec
	case errors.As(err, &op) && op.Op == "dial":
		r.reason = ReasonUnreachable
	case errors.As(err, new(liberrors.ErrClientTCPTimeout)), errors.As(err, new(liberrors.ErrClientUDPTimeout)):
		r.reason = ReasonNoPackets
	case errors.As(err, new(liberrors.ErrClientRequestTimedOut)), errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		r.reason = ReasonTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed), errors.As(err, new(liberrors.ErrClientTerminated)):
		r.reason = ReasonDisconnected
	case errors.As(err, new(liberrors.ErrClientSDPInvalid)), errors.As(err, new(liberrors.ErrClientContentTypeMissing)),
		errors.As(err, new(liberrors.ErrClientContentTypeUnsupported)), errors.As(err, new(liberrors.ErrClientTransportHeaderInvalid)),
		errors.As(err, new(liberrors.ErrClientSessionHeaderInvalid)):
		r.reason = ReasonProtocol
	default:
		r.reason = ReasonDisconnected
	}
	return r
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// rateMeter turns the picture and frame counters into rates over a few
// seconds.
type rateMeter struct {
	at               time.Time
	pictures, frames uint64
	in, out          float64
}

const rateWindow = 2 * time.Second

func (m *rateMeter) update(mu *sync.Mutex, now time.Time, h Health) {
	mu.Lock()
	defer mu.Unlock()
	if m.at.IsZero() || h.Pictures < m.pictures || h.Frames < m.frames {
		m.at, m.pictures, m.frames = now, h.Pictures, h.Frames
		return
	}
	dt := now.Sub(m.at)
	if dt < rateWindow {
		return
	}
	m.in = float64(h.Pictures-m.pictures) / dt.Seconds()
	m.out = float64(h.Frames-m.frames) / dt.Seconds()
	m.at, m.pictures, m.frames = now, h.Pictures, h.Frames
}

func (m *rateMeter) reset(mu *sync.Mutex) {
	mu.Lock()
	defer mu.Unlock()
	*m = rateMeter{}
}
