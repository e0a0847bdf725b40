package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// SSE settings.
const (
	sseQueue     = 64               // events buffered per browser before it loses some
	sseKeepAlive = 20 * time.Second // a comment line keeps idle proxies from closing the stream
	sseWrite     = 10 * time.Second // a browser that takes longer to take one event is dropped
)

// events streams alerts, sightings and camera changes as server-sent
// events. Each event carries the object as stored when it is sent. A
// browser that falls behind loses events and is told how many with a
// "lost" event, upon which it refetches.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sub := s.d.Events.Subscribe(sseQueue, func(e Event) bool { return e.Type != EventBoxes })
	defer sub.Close()
	ctx := r.Context()
	send := func(event string, v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		rc.SetWriteDeadline(time.Now().Add(sseWrite))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The opening comment lets the browser see the stream is up.
	rc.SetWriteDeadline(time.Now().Add(sseWrite))
	if _, err := fmt.Fprint(w, ": dozor events\nretry: 3000\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	keep := time.NewTicker(sseKeepAlive)
	defer keep.Stop()
	var lost uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-keep.C:
			rc.SetWriteDeadline(time.Now().Add(sseWrite))
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case e := <-sub.C():
			if n := sub.Lost(); n != lost {
				if !send("lost", map[string]uint64{"lost": n - lost}) {
					return
				}
				lost = n
			}
			v, ok := s.eventView(ctx, e)
			if ok && !send(e.Type, v) {
				return
			}
		}
	}
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
