package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// SSE settings.
const (
	sseQueue     = 256              // events buffered per browser before it loses some
	sseKeepAlive = 20 * time.Second // a comment line keeps idle proxies from closing the stream
	sseWrite     = 10 * time.Second // a browser that takes longer to take one event is dropped
)

// events streams what the ingesters store as server-sent events. A
// browser that falls behind loses events and is told how many with a
// "lost" event, upon which it refetches.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sub := s.d.Events.subscribe(sseQueue)
	defer s.d.Events.unsubscribe(sub)
	write := func(format string, args ...any) bool {
		rc.SetWriteDeadline(time.Now().Add(sseWrite))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(": dozor region events\nretry: 3000\n\n") {
		return
	}
	keep := time.NewTicker(sseKeepAlive)
	defer keep.Stop()
	var lost uint64
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keep.C:
			if !write(": keep-alive\n\n") {
				return
			}
		case e := <-sub.c:
			if n := sub.lost.Load(); n != lost {
				if !write("event: lost\ndata: {\"lost\":%d}\n\n", n-lost) {
					return
				}
				lost = n
			}
			b, err := json.Marshal(e.View)
			if err != nil || !write("event: %s\ndata: %s\n\n", e.Type, b) {
				return
			}
		}
	}
}
