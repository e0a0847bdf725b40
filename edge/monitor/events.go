package monitor

import (
	"context"
	"net/http"

	"github.com/dozor-edge/dozor/internal/webui"
)

// sseQueue is how many events are buffered per browser before it loses
// some.
const sseQueue = 64

// events streams alerts, sightings and camera changes as server-sent
// events. Each event carries the object as stored when it is sent. A
// browser that falls behind loses events and is told how many with a
// "lost" event, upon which it refetches.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	sub := s.d.Events.Subscribe(sseQueue, func(e Event) bool { return e.Type != EventBoxes })
	defer sub.Close()
	webui.ServeEvents(w, r, "dozor events", sub.C(), sub.Lost, func(ctx context.Context, e Event) (string, any, bool) {
		v, ok := s.eventView(ctx, e)
		return e.Type, v, ok
	})
}

// eventView reads the object an event names; false when it is gone or
// unreadable (the browser learns of it at its next fetch).
func (s *Server) eventView(ctx context.Context, e Event) (any, bool) {
	var v any
	var err error
	switch e.Type {
	case EventAlert, EventAlertUpdate:
		v, err = s.alertView(ctx, e.ID)
	case EventSighting:
		sg, serr := s.st.Sighting(ctx, e.ID)
		if serr != nil {
			err = serr
			break
		}
		v = s.viewSighting(ctx, s.names(), sg)
	case EventCamera:
		id := e.Camera
		if id == "" {
			id = e.ID
		}
		v, err = s.cameraView(ctx, id)
	default:
		return nil, false
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("monitor event not sent", "type", e.Type, "id", e.ID, "err", err)
		}
		return nil, false
	}
	return v, true
}
