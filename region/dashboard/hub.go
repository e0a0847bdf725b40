package dashboard

import (
	"sync"
	"sync/atomic"

	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/wire"
)

// Event is one live event for the browsers: its type ("sighting",
// "alert", "decision", "site", "camera") and the JSON view sent.
type Event struct {
	Type string
	View any
}

// Hub fans the messages the ingesters stored out to the browsers.
// Publish never blocks: a subscriber whose queue is full loses the event
// and counts it.
type Hub struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
}

// NewHub returns a hub without subscribers.
func NewHub() *Hub { return &Hub{subs: map[*subscription]struct{}{}} }

type subscription struct {
	c    chan Event
	lost atomic.Uint64
}

// Publish hands a stored message to every subscriber without waiting;
// kinds the dashboard does not show (audit records, gallery acks) are
// dropped. It fits region/ingest.Config.OnStored.
func (h *Hub) Publish(m store.Message) {
	e, ok := eventOf(m)
	if !ok {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.c <- e:
		default:
			s.lost.Add(1)
		}
	}
}

func (h *Hub) subscribe(queue int) *subscription {
	s := &subscription{c: make(chan Event, max(queue, 1))}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *Hub) unsubscribe(s *subscription) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// eventOf turns a stored message into the view its browsers get.
func eventOf(m store.Message) (Event, bool) {
	switch p := m.Payload.(type) {
	case wire.Sighting:
		return Event{"sighting", sightingView{
			ID: p.ID.String(), Seq: p.Seq, Site: p.Site, Camera: p.Camera, Person: p.Person,
			BestAt: p.BestAt, Score: p.Score, Quality: p.Quality, Frames: p.Frames,
		}}, true
	case wire.Alert:
		return Event{"alert", alertView{
			ID: p.ID.String(), Seq: p.Seq, Site: p.Site, Rule: p.Rule, Kind: p.Kind, Severity: p.Severity,
			Person: p.Person, Camera: p.Camera, Zone: p.Zone, At: p.At, Decisions: []decisionView{},
		}}, true
	case wire.AlertDecision:
		return Event{"decision", decisionView{
			Alert: p.Alert.String(), Site: p.Site, Decision: p.Decision, By: p.By, At: p.At,
		}}, true
	case wire.SiteStatus:
		return Event{"site", map[string]any{
			"id": p.Site, "state": p.State, "online": p.State == wire.SiteOnline, "at": p.At,
			"cameras_up": p.CamerasUp, "cameras_total": p.CamerasTotal, "outbox_depth": p.OutboxDepth,
		}}, true
	case wire.CameraStatus:
		return Event{"camera", cameraView{Site: p.Site, Camera: p.Camera, State: p.State, FPS: p.FPS, At: p.At}}, true
	}
	return Event{}, false
}
