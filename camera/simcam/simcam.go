// Package simcam is a simulated IP camera: a real RTSP server (gortsplib)
// streaming a real clip in real time, over TCP or UDP, that can be told to
// misbehave the ways cameras in the field do: stop sending packets, freeze
// the picture, drop the connection every so often, demand credentials,
// send garbage or corrupt NAL units, or offer a codec nobody decodes. The
// camera package's tests drive every failure through it; installers and
// the demo use it through `edgectl simcam`.
//
// Each client session is streamed on its own from the start of the clip
// (an IDR), paced by the clip's decoding timestamps, so what a client
// receives is exact and repeatable.
package simcam

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/pion/rtp"

	"github.com/dozor-edge/dozor/camera"
)

// Fault is a misbehaviour that can be switched on while the server runs.
type Fault int32

const (
	// FaultNone streams normally.
	FaultNone Fault = iota
	// FaultSilent keeps every session open but sends no packets.
	FaultSilent
	// FaultFreeze keeps sending packets at the frame rate, but they carry
	// only parameter sets: the connection is alive, the picture is frozen.
	FaultFreeze
	// FaultGarbage replaces the payload of every third RTP packet with
	// random bytes of random length.
	FaultGarbage
	// FaultCorrupt damages the slices of one non-key picture in four, at
	// random: flipped bytes, truncated or overwritten slice data,
	// forbidden bits, bogus NAL types. Key frames and parameter sets stay
	// intact, so decoding resumes at the next IDR.
	FaultCorrupt
)

var faultNames = map[Fault]string{FaultNone: "none", FaultSilent: "silent", FaultFreeze: "freeze", FaultGarbage: "garbage", FaultCorrupt: "corrupt"}

func (f Fault) String() string {
	if s, ok := faultNames[f]; ok {
		return s
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// ParseFault reads a fault name.
func ParseFault(s string) (Fault, error) {
	for f, n := range faultNames {
		if n == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("fault %q: want none, silent, freeze, garbage or corrupt", s)
}

// endGrace is how long a session stays open after the clip ended (without
// Loop), so its last packets are delivered before the server hangs up.
const endGrace = 500 * time.Millisecond

// Config is one simulated camera.
type Config struct {
	// Clip is what is streamed (camera/avcodec.ReadClip reads one).
	Clip *camera.Clip
	// Path is the stream's path, "/cam1" by default; others get 404.
	Path string
	// Loop replays the clip for ever; otherwise each session is closed
	// shortly after the clip ends.
	Loop bool
	// User and Pass, when set, are demanded on DESCRIBE and SETUP (401
	// otherwise).
	User, Pass string
	// UDP also offers the UDP transport, on an RTP/RTCP port pair picked at
	// Listen (UDPPort, UDPPort+1 when UDPPort is set; it must be even).
	UDP     bool
	UDPPort int
	// DropEvery closes each session that long after it started playing.
	DropEvery time.Duration
	// Unsupported announces a VP8 track instead of the clip's codec (and
	// sends nothing): the camera a client cannot decode.
	Unsupported bool
	// Logger receives session events (nil: discarded).
	Logger *slog.Logger
}

// Stats count what the server saw.
type Stats struct {
	Conns, Describes, Unauthorized, NotFound, Plays int64
	Active                                          int64 // sessions playing now
	Packets                                         int64 // RTP packets written
}

// Server is a simulated camera. Listen binds it; Run serves until the
// context ends.
type Server struct {
	cfg   Config
	log   *slog.Logger
	ln    net.Listener
	rtpPC net.PacketConn
	rtcp  net.PacketConn
	desc  *description.Session
	fault atomic.Int32

	conns, describes, unauthorized, notFound, plays, active, packets atomic.Int64

	srv *gortsplib.Server

	mu       sync.Mutex
	stream   *gortsplib.ServerStream                    // nil until Run has started the server
	ready    chan struct{}                              // closed once stream is set
	sessions map[*gortsplib.ServerSession]chan struct{} // closed when the session ends
	quit     chan struct{}                              // closed when Run stops; nil before Run
	wg       sync.WaitGroup
	ran      atomic.Bool
}

// Listen validates cfg and binds the RTSP address (host:port; port 0
// picks a free one) and, with UDP, the RTP/RTCP pair.
func Listen(addr string, cfg Config) (*Server, error) {
	if err := cfg.Clip.Validate(); err != nil {
		return nil, fmt.Errorf("simcam: %w", err)
	}
	if cfg.Path == "" {
		cfg.Path = "/cam1"
	}
	if strings.Trim(cfg.Path, "/") == "" || strings.ContainsAny(cfg.Path, "?# ") {
		return nil, fmt.Errorf("simcam: path %q: want a path such as /cam1", cfg.Path)
	}
	if (cfg.User == "") != (cfg.Pass == "") {
		return nil, errors.New("simcam: give both a user and a password, or neither")
	}
	if cfg.DropEvery < 0 {
		return nil, fmt.Errorf("simcam: drop every %v", cfg.DropEvery)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log, sessions: map[*gortsplib.ServerSession]chan struct{}{}, ready: make(chan struct{})}
	var err error
	if s.desc, err = describe(cfg); err != nil {
		return nil, err
	}
	if s.ln, err = net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("simcam: listen %s: %w", addr, err)
	}
	if cfg.UDP {
		host, _, _ := net.SplitHostPort(s.ln.Addr().String())
		if s.rtpPC, s.rtcp, err = listenUDPPair(host, cfg.UDPPort); err != nil {
			s.ln.Close()
			return nil, err
		}
	}
	return s, nil
}

// listenUDPPair binds an even RTP port and the next (RTCP) port.
func listenUDPPair(host string, port int) (net.PacketConn, net.PacketConn, error) {
	if port != 0 {
		if port%2 != 0 || port < 1024 || port > 65534 {
			return nil, nil, fmt.Errorf("simcam: UDP port %d: want an even port from 1024", port)
		}
		a, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, nil, fmt.Errorf("simcam: RTP port: %w", err)
		}
		b, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port+1)))
		if err != nil {
			a.Close()
			return nil, nil, fmt.Errorf("simcam: RTCP port: %w", err)
		}
		return a, b, nil
	}
	for range 64 { // a free even/odd pair is found in a try or two
		a, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, nil, fmt.Errorf("simcam: RTP port: %w", err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		if p%2 != 0 || p > 65534 {
			a.Close()
			continue
		}
		b, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(p+1)))
		if err != nil {
			a.Close()
			continue
		}
		return a, b, nil
	}
	return nil, nil, errors.New("simcam: no free UDP port pair")
}

func describe(cfg Config) (*description.Session, error) {
	var f format.Format
	switch {
	case cfg.Unsupported:
		f = &format.VP8{PayloadTyp: 96}
	case cfg.Clip.Codec == camera.H264:
		h := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
		for _, p := range cfg.Clip.Params {
			switch p[0] & 0x1f {
			case 7:
				h.SPS = p
			case 8:
				h.PPS = p
			}
		}
		f = h
	case cfg.Clip.Codec == camera.H265:
		h := &format.H265{PayloadTyp: 96}
		for _, p := range cfg.Clip.Params {
			switch (p[0] >> 1) & 0x3f {
			case 32:
				h.VPS = p
			case 33:
				h.SPS = p
			case 34:
				h.PPS = p
			}
		}
		f = h
	default:
		return nil, fmt.Errorf("simcam: codec %q: %w", cfg.Clip.Codec, camera.ErrUnsupportedCodec)
	}
	return &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{f}}}}, nil
}

// Addr is the bound RTSP address (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the stream's URL, with the credentials when the server demands
// them.
func (s *Server) URL() string {
	u := url.URL{Scheme: "rtsp", Host: s.Addr(), Path: s.cfg.Path}
	if s.cfg.User != "" {
		u.User = url.UserPassword(s.cfg.User, s.cfg.Pass)
	}
	return u.String()
}

// Ready is closed once Run serves the stream. Before that the address
// already accepts connections, but answers DESCRIBE with 503 (Service
// Unavailable), as a camera still booting does.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// SetFault switches a misbehaviour on (FaultNone switches it off).
func (s *Server) SetFault(f Fault) {
	if old := Fault(s.fault.Swap(int32(f))); old != f {
		s.log.Info("simcam fault", "fault", f.String())
	}
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Conns: s.conns.Load(), Describes: s.describes.Load(), Unauthorized: s.unauthorized.Load(),
		NotFound: s.notFound.Load(), Plays: s.plays.Load(), Active: s.active.Load(), Packets: s.packets.Load(),
	}
}

// Run serves until ctx ends, then closes every session and returns once
// all its goroutines have exited. A Server runs once.
func (s *Server) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return errors.New("simcam: Run called twice")
	}
	quit := make(chan struct{})
	s.mu.Lock()
	s.quit = quit
	s.mu.Unlock()
	stopSessions := sync.OnceFunc(func() {
		s.mu.Lock()
		close(quit)
		s.mu.Unlock()
	})
	defer stopSessions()

	lnOnce := s.ln
	s.srv = &gortsplib.Server{
		Handler:     s,
		RTSPAddress: s.Addr(),
		// Room for a whole 1080p key frame queued before the writer starts.
		WriteQueueSize: 4096,
		Listen: func(string, string) (net.Listener, error) {
			if lnOnce == nil {
				return nil, errors.New("simcam: listener already used")
			}
			l := lnOnce
			lnOnce = nil
			return l, nil
		},
	}
	if s.rtpPC != nil {
		s.srv.UDPRTPAddress = s.rtpPC.LocalAddr().String()
		s.srv.UDPRTCPAddress = s.rtcp.LocalAddr().String()
		s.srv.ListenPacket = func(_, addr string) (net.PacketConn, error) {
			switch addr {
			case s.srv.UDPRTPAddress:
				return s.rtpPC, nil
			case s.srv.UDPRTCPAddress:
				return s.rtcp, nil
			}
			return nil, fmt.Errorf("simcam: unexpected UDP address %s", addr)
		}
	}
	if err := s.srv.Start(); err != nil {
		s.ln.Close()
		if s.rtpPC != nil {
			s.rtpPC.Close()
			s.rtcp.Close()
		}
		return fmt.Errorf("simcam: start: %w", err)
	}
	stream := &gortsplib.ServerStream{Server: s.srv, Desc: s.desc}
	if err := stream.Initialize(); err != nil {
		s.srv.Close()
		return fmt.Errorf("simcam: stream: %w", err)
	}
	s.mu.Lock()
	s.stream = stream // handlers answer 503 until here
	s.mu.Unlock()
	close(s.ready)
	s.log.Info("simcam serving", "url", camera.Redact(s.URL()), "codec", string(s.cfg.Clip.Codec),
		"size", fmt.Sprintf("%dx%d", s.cfg.Clip.Width, s.cfg.Clip.Height), "fps", s.cfg.Clip.FPS, "udp", s.rtpPC != nil)

	errc := make(chan error, 1)
	go func() { errc <- s.srv.Wait() }()
	var err error
	select {
	case <-ctx.Done():
		s.srv.Close()
		<-errc
	case err = <-errc:
		err = fmt.Errorf("simcam: server: %w", err)
	}
	stopSessions()
	stream.Close()
	s.wg.Wait()
	return err
}

func (s *Server) pathOK(p string) bool {
	return strings.Trim(p, "/") == strings.Trim(s.cfg.Path, "/")
}

func (s *Server) authorized(c *gortsplib.ServerConn, r *base.Request) bool {
	if s.cfg.User == "" {
		return true
	}
	if c.VerifyCredentials(r, s.cfg.User, s.cfg.Pass) {
		return true
	}
	s.unauthorized.Add(1)
	return false
}

// OnConnOpen implements gortsplib.ServerHandlerOnConnOpen.
func (s *Server) OnConnOpen(*gortsplib.ServerHandlerOnConnOpenCtx) { s.conns.Add(1) }

// OnSessionClose implements gortsplib.ServerHandlerOnSessionClose.
func (s *Server) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stop, ok := s.sessions[ctx.Session]; ok {
		close(stop)
		delete(s.sessions, ctx.Session)
	}
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (s *Server) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	s.describes.Add(1)
	return s.streamFor(ctx.Conn, ctx.Request, ctx.Path)
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (s *Server) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return s.streamFor(ctx.Conn, ctx.Request, ctx.Path)
}

// streamFor answers DESCRIBE and SETUP alike: the credentials are checked
// first, then the path; the stream is served once it runs.
func (s *Server) streamFor(c *gortsplib.ServerConn, r *base.Request, path string) (*base.Response, *gortsplib.ServerStream, error) {
	if !s.authorized(c, r) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, liberrors.ErrServerAuth{}
	}
	if !s.pathOK(path) {
		s.notFound.Add(1)
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream == nil {
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, s.stream, nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay: the session gets its
// own streaming goroutine, from the start of the clip. Packets written
// before the PLAY response is sent wait in the session's write queue.
func (s *Server) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, playing := s.sessions[ctx.Session]; playing || s.quit == nil || closed(s.quit) {
		return &base.Response{StatusCode: base.StatusOK}, nil
	}
	stop, quit := make(chan struct{}), s.quit
	s.sessions[ctx.Session] = stop
	s.plays.Add(1)
	s.wg.Add(1)
	go func(ss *gortsplib.ServerSession) {
		defer s.wg.Done()
		s.active.Add(1)
		defer s.active.Add(-1)
		s.play(stop, quit, ss)
	}(ctx.Session)
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// encodeFunc is the Encode method of a format's RTP encoder, or the error
// that made it.
func encodeFunc[E interface {
	Encode([][]byte) ([]*rtp.Packet, error)
}](e E, err error) (func([][]byte) ([]*rtp.Packet, error), error) {
	if err != nil {
		return nil, err
	}
	return e.Encode, nil
}

// play streams the clip to one session in real time.
// It returns when the session ends (stop) or the server stops (quit).
func (s *Server) play(stop, quit <-chan struct{}, ss *gortsplib.ServerSession) {
	done := func() bool {
		select {
		case <-stop:
			return true
		case <-quit:
			return true
		default:
			return false
		}
	}
	wait := func() {
		select {
		case <-stop:
		case <-quit:
		}
	}
	if s.cfg.Unsupported {
		wait()
		return
	}
	medi := s.desc.Medias[0]
	var encode func([][]byte) ([]*rtp.Packet, error)
	var err error
	switch f := medi.Formats[0].(type) {
	case *format.H264:
		encode, err = encodeFunc(f.CreateEncoder())
	case *format.H265:
		encode, err = encodeFunc(f.CreateEncoder())
	}
	if err != nil {
		s.log.Error("simcam: RTP encoder", "error", err)
		return
	}
	clip := s.cfg.Clip
	tsBase := randUint32()
	periodTicks := int64(clip.Period) * camera.ClockRate / int64(time.Second)
	start := time.Now()
	var n, sent uint64 // access units and packets, for the faults' cadence
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	// pause waits for d, or reports false when the session or the server
	// ends first.
	pause := func(d time.Duration) bool {
		timer.Reset(d)
		select {
		case <-stop:
			return false
		case <-quit:
			return false
		case <-timer.C:
			return true
		}
	}
	for pass := int64(0); ; pass++ { // bounded by stop/quit (and by the clip's end unless Loop)
		offset := time.Duration(pass) * clip.Period
		for _, u := range clip.Units {
			due := start.Add(offset + time.Duration(u.DTS)*time.Second/camera.ClockRate)
			if s.cfg.DropEvery > 0 && time.Since(start) >= s.cfg.DropEvery {
				s.log.Info("simcam: dropping the session (drop every)", "after", s.cfg.DropEvery)
				ss.Close()
				wait()
				return
			}
			if d := time.Until(due); d > 0 {
				if !pause(d) {
					return
				}
			} else if done() {
				return
			}
			n++
			nalus := u.NALUs
			switch Fault(s.fault.Load()) {
			case FaultSilent:
				continue
			case FaultFreeze:
				nalus = clip.Params
			case FaultCorrupt:
				// At random, not every n-th (a GOP's length is often a
				// multiple of n); key frames are left intact, so decoding
				// resumes at each of them.
				if !u.Random && randUint32()%4 == 0 {
					nalus = corrupt(clip.Codec, nalus, n)
				}
			}
			pkts, err := encode(nalus)
			if err != nil {
				s.log.Warn("simcam: RTP encode", "error", err)
				continue
			}
			ts := tsBase + uint32(pass*periodTicks+u.PTS)
			garbage := Fault(s.fault.Load()) == FaultGarbage
			for _, p := range pkts {
				p.Timestamp = ts
				sent++
				if garbage && sent%3 == 0 {
					p.Payload = randomBytes(1 + int(randUint32()%1400))
				}
				if err := ss.WritePacketRTP(medi, p); err != nil {
					continue // queue full: the client is slow; a camera drops too
				}
				s.packets.Add(1)
			}
		}
		if !s.cfg.Loop {
			// Let the write queue drain before hanging up.
			if !pause(endGrace) {
				return
			}
			s.log.Info("simcam: clip ended, closing the session")
			ss.Close()
			wait()
			return
		}
	}
}

// corrupt returns damaged copies of an access unit's slices (parameter
// sets are kept), varying the damage with n.
func corrupt(c camera.Codec, au [][]byte, n uint64) [][]byte {
	out := make([][]byte, 0, len(au)+1)
	for i, nal := range au {
		if isParamSet(c, nal) {
			out = append(out, nal)
			continue
		}
		b := append([]byte(nil), nal...)
		hdr := 1
		if c == camera.H265 {
			hdr = 2
		}
		switch (n/4 + uint64(i)) % 5 {
		case 0: // flip bytes in the slice data
			for j := 0; j < 16 && len(b) > hdr+1; j++ {
				k := hdr + int(randUint32()%uint32(len(b)-hdr))
				b[k] ^= byte(randUint32())
			}
		case 1: // truncate
			b = b[:hdr+len(b)/3]
		case 2: // forbidden bit
			b[0] |= 0x80
		case 3: // random slice data after a valid header
			if len(b) > hdr {
				copy(b[hdr:], randomBytes(len(b)-hdr))
			}
		case 4: // an extra NAL unit of a reserved type
			if c == camera.H265 {
				out = append(out, []byte{47 << 1, 1, 0xde, 0xad})
			} else {
				out = append(out, []byte{0x17, 0xde, 0xad, 0xbe, 0xef})
			}
		}
		out = append(out, b)
	}
	return out
}

func isParamSet(c camera.Codec, n []byte) bool {
	if c == camera.H265 {
		t := (n[0] >> 1) & 0x3f
		return t >= 32 && t <= 34
	}
	t := n[0] & 0x1f
	return t == 7 || t == 8
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func randUint32() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
