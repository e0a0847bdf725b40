package dashboard

import (
	"context"
	"net/http"

	"github.com/dozor-edge/dozor/internal/webui"
)

// sseQueue is how many events are buffered per browser before it loses
// some.
const sseQueue = 256

// events streams what the ingesters store as server-sent events. A
// browser that falls behind loses events and is told how many with a
// "lost" event, upon which it refetches.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	sub := s.d.Events.subscribe(sseQueue)
	defer s.d.Events.unsubscribe(sub)
	webui.ServeEvents(w, r, "dozor region events", sub.c, sub.lost.Load, func(_ context.Context, e Event) (string, any, bool) {
		return e.Type, e.View, true
	})
}
