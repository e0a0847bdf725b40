package live

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dozor-edge/dozor/camera"
)

// Modes a camera's live view can be in.
const (
	// ModeMSE: fMP4 fragments for Media Source Extensions.
	ModeMSE = "mse"
	// ModeSnapshot: no video stream (H.265, or no keyframe yet); the
	// browser refreshes still images instead.
	ModeSnapshot = "snapshot"
)

// DefaultQueue is the queue of a Sub subscribed with queue <= 0: about
// 2.5 s of 25 fps video.
const DefaultQueue = 64

// minQueue holds an init segment and its keyframe.
const minQueue = 2

// Message is what a viewer receives: an init segment or one fragment.
type Message struct {
	// Init marks an init segment (ftyp+moov); otherwise Data is one
	// fragment (moof+mdat) holding one access unit.
	Init bool
	// Key marks a fragment that starts at a keyframe (and an init
	// segment, which always comes right before one).
	Key bool
	// Data is shared by every viewer: read it, never modify it.
	Data []byte
	// Media is the presentation time of the fragment's picture on the
	// hub's timeline (the MSE timeline of the viewer); Wall is its
	// capture time. Together they map video.currentTime to wall time.
	Media time.Duration
	Wall  time.Time
	// Codec is the RFC 6381 codec string (avc1.PPCCLL) for
	// MediaSource.addSourceBuffer; W and H are the picture size.
	Codec string
	W, H  int
}

// Stats are a hub's counters.
type Stats struct {
	Viewers int
	// Units are the access units written to the hub.
	Units uint64
	// Muxed counts fragments built (once for all viewers); Fragments and
	// Bytes what was delivered to viewers (Bytes includes init segments).
	Muxed, Fragments, Bytes uint64
	// Drops are messages not delivered because a viewer's queue was full.
	Drops uint64
	// Errors are access units that could not be repackaged; repackaging
	// resumed at the next keyframe.
	Errors uint64
}

// Hub repackages one camera's H.264 for its live viewers. It implements
// camera.LiveSink; its methods may be called from any goroutine.
type Hub struct {
	camera string
	log    *slog.Logger
	units  atomic.Uint64

	mu                               sync.Mutex
	subs                             map[*Sub]struct{}
	codec                            camera.Codec
	params                           params   // of the latest keyframe
	init                             *initSeg // for params; nil until a viewer needed it
	m                                muxer
	muxed, frags, bytes, drops, errs uint64
}

var _ camera.LiveSink = (*Hub)(nil)

// NewHub returns the hub of one camera. log may be nil.
func NewHub(cameraID string, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{camera: cameraID, log: log.With("camera", cameraID), subs: map[*Sub]struct{}{}}
}

// Mode is ModeMSE once an H.264 keyframe with usable parameter sets was
// seen, ModeSnapshot otherwise.
func (h *Hub) Mode() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.codec == camera.H264 && h.params.ok {
		return ModeMSE
	}
	return ModeSnapshot
}

// Codec is the codec of the units the hub was handed last: "h264",
// "h265", or "" before any.
func (h *Hub) Codec() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch h.codec {
	case camera.H264:
		return "h264"
	case camera.H265:
		return "h265"
	}
	return ""
}

// Stats returns the counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{Viewers: len(h.subs), Units: h.units.Load(), Muxed: h.muxed, Fragments: h.frags,
		Bytes: h.bytes, Drops: h.drops, Errors: h.errs}
}

// Subscribe adds a viewer whose channel buffers queue messages
// (DefaultQueue when queue <= 0, at least 2). It receives an init
// segment, then fragments from the next keyframe on. Close it when done.
func (h *Hub) Subscribe(queue int) *Sub {
	if queue <= 0 {
		queue = DefaultQueue
	}
	s := &Sub{h: h, c: make(chan Message, max(queue, minQueue)), waitKey: true}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// WriteAccessUnit takes one access unit from the camera (see
// camera.LiveSink). It never blocks on a viewer and keeps none of u.
func (h *Hub) WriteAccessUnit(u camera.LiveUnit) {
	h.units.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if u.Codec != h.codec {
		// A camera reconfigured: viewers keep their timeline, and get a
		// new init segment if it comes back as H.264.
		if h.m.running {
			h.stop()
		}
		h.codec, h.params, h.init = u.Codec, params{}, nil
	}
	if u.Codec != camera.H264 {
		return
	}
	if err := checkUnit(u.NALUs); err != nil {
		h.fail(err)
		return
	}
	if u.Random {
		h.noteParams(u.NALUs)
	}
	if len(h.subs) == 0 {
		h.m = muxer{} // the next viewer starts a new timeline
		return
	}
	h.mux(u)
}

// send delivers m to s unless its queue is full.
func (h *Hub) send(s *Sub, m Message) bool {
	select {
	case s.c <- m:
		if !m.Init {
			h.frags++
		}
		h.bytes += uint64(len(m.Data))
		return true
	default:
		h.drops++
		s.dropped.Add(1)
		return false
	}
}

// deliver hands a fragment to one viewer: a viewer waiting for a keyframe
// skips others, and gets the init segment before a keyframe when it has
// not got that one yet. Any drop makes it wait for the next keyframe.
func (h *Hub) deliver(s *Sub, frag Message, init *initSeg) {
	if s.waitKey && !frag.Key {
		return
	}
	if s.init != init {
		m := frag
		m.Init, m.Data = true, init.data
		if !h.send(s, m) {
			s.waitKey = true
			return
		}
		s.init = init
	}
	if !h.send(s, frag) {
		s.waitKey = true
		return
	}
	s.waitKey = false
}

// Sub is one viewer of a Hub.
type Sub struct {
	h       *Hub
	c       chan Message
	dropped atomic.Uint64
	// owned by the hub, under its lock
	waitKey bool
	init    *initSeg // the init segment it got last
}

// C delivers the viewer's messages; it is closed by Close.
func (s *Sub) C() <-chan Message { return s.c }

// Dropped counts the messages this viewer lost to a full queue.
func (s *Sub) Dropped() uint64 { return s.dropped.Load() }

// Close unsubscribes and closes C; further calls do nothing.
func (s *Sub) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	if _, ok := s.h.subs[s]; ok {
		delete(s.h.subs, s)
		close(s.c)
	}
}
