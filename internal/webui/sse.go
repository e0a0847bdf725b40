package webui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// SSE timing.
const (
	sseKeepAlive = 20 * time.Second // a comment line keeps idle proxies from closing the stream
	sseWrite     = 10 * time.Second // a browser that takes longer to take one event is dropped
)

// ServeEvents streams the events received on c as server-sent events
// until the request ends or a write fails. It opens with the comment
// hello. view turns an event into its type and data; false skips the
// event. lost reports how many events the subscription has dropped so
// far: when that grows, the browser gets a "lost" event with the count,
// upon which it refetches.
func ServeEvents[E any](w http.ResponseWriter, r *http.Request, hello string, c <-chan E, lost func() uint64,
	view func(context.Context, E) (event string, data any, ok bool)) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(format string, args ...any) bool {
		rc.SetWriteDeadline(time.Now().Add(sseWrite))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The opening comment lets the browser see the stream is up.
	if !write(": %s\nretry: 3000\n\n", hello) {
		return
	}
	keep := time.NewTicker(sseKeepAlive)
	defer keep.Stop()
	ctx := r.Context()
	var dropped uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-keep.C:
			if !write(": keep-alive\n\n") {
				return
			}
		case e := <-c:
			if n := lost(); n != dropped {
				if !write("event: lost\ndata: {\"lost\":%d}\n\n", n-dropped) {
					return
				}
				dropped = n
			}
			event, v, ok := view(ctx, e)
			if !ok {
				continue
			}
			b, err := json.Marshal(v)
			if err != nil || !write("event: %s\ndata: %s\n\n", event, b) {
				return
			}
		}
	}
}
