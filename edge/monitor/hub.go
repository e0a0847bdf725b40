package monitor

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event types published on a Hub.
const (
	EventAlert       = "alert"        // a new alert (ID is the alert's)
	EventAlertUpdate = "alert_update" // an alert was acknowledged or decided
	EventSighting    = "sighting"     // a new sighting (ID is the sighting's)
	EventCamera      = "camera"       // a camera's health changed (Camera)
	EventBoxes       = "boxes"        // the faces of one analysed frame (Boxes)
)

// Event tells the monitor's browsers that something changed. It names the
// object; the event stream reads the object from the store when it sends
// it, so a browser always gets the stored state.
type Event struct {
	Type   string
	Camera string
	ID     string
	Boxes  *BoxFrame // set for EventBoxes only
}

// BoxFrame is the faces found in one analysed frame of a camera.
type BoxFrame struct {
	Camera string
	Wall   time.Time // capture time of the frame
	W, H   int       // frame size in pixels
	Faces  []Box
}

// Box is one face over the video, in coordinates normalised to the frame
// (0..1), with the identity its track was given.
type Box struct {
	X, Y, W, H   float64
	Track        uint64
	Person, Name string
	Score        float32
	Known        bool
}

// Hub fans events out to subscribers. Publish never blocks: a subscriber
// whose queue is full loses the event and counts it, so a stalled browser
// costs the producer nothing.
type Hub struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// NewHub returns a hub without subscribers.
func NewHub() *Hub { return &Hub{subs: map[*Subscription]struct{}{}} }

// Subscription is one subscriber's queue.
type Subscription struct {
	hub    *Hub
	c      chan Event
	filter func(Event) bool
	lost   atomic.Uint64
	once   sync.Once
}

// Subscribe adds a subscriber that buffers up to queue events (at least
// 1) of those filter accepts (all when filter is nil).
func (h *Hub) Subscribe(queue int, filter func(Event) bool) *Subscription {
	s := &Subscription{hub: h, c: make(chan Event, max(queue, 1)), filter: filter}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Publish hands e to every subscriber that wants it, without waiting.
func (h *Hub) Publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.filter != nil && !s.filter(e) {
			continue
		}
		select {
		case s.c <- e:
		default:
			s.lost.Add(1)
		}
	}
}

// C delivers the events. It is never closed: select on it together with
// the subscriber's own done signal.
func (s *Subscription) C() <-chan Event { return s.c }

// Lost is the number of events dropped because the queue was full.
func (s *Subscription) Lost() uint64 { return s.lost.Load() }

// Close removes the subscription; it is safe to call more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.hub.mu.Lock()
		delete(s.hub.subs, s)
		s.hub.mu.Unlock()
	})
}
