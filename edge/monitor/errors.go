package monitor

import (
	"errors"
	"net/http"
	"strings"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webui"
)

// maxJSONBody caps a JSON request body.
const maxJSONBody = 64 << 10

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return webui.DecodeJSON(w, r, v, maxJSONBody)
}

// fail answers err as JSON: a *webui.Error with its own status, the
// store's typed errors with theirs, anything else as a 500 whose details
// go to the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *webui.Error
	var ie *store.InvalidError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ie):
		ae = webui.Errorf(http.StatusBadRequest, jsonField(ie.Field), "%s %s", ie.Field, ie.Reason)
	case errors.Is(err, store.ErrInvalid):
		ae = webui.Errorf(http.StatusBadRequest, "", "%v", err)
	case errors.Is(err, store.ErrNotFound):
		ae = webui.Errorf(http.StatusNotFound, "", "not found")
	case errors.Is(err, store.ErrAlreadyDecided):
		ae = webui.Errorf(http.StatusConflict, "", "the alert is already decided")
	case errors.Is(err, store.ErrAlreadyAcknowledged):
		ae = webui.Errorf(http.StatusConflict, "", "the alert is acknowledged by another account")
	case errors.Is(err, store.ErrNotAcknowledged):
		ae = webui.Errorf(http.StatusConflict, "", "acknowledge the alert before deciding")
	case errors.Is(err, store.ErrRegionManaged):
		ae = webui.Errorf(http.StatusConflict, "", "managed by the region: remove or transfer it there")
	case errors.Is(err, store.ErrExists):
		ae = webui.Errorf(http.StatusConflict, "", "already exists")
	default:
		s.log.Error("monitor request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = webui.Errorf(http.StatusInternalServerError, "", "internal error")
	}
	webui.WriteError(w, ae)
}

// jsonField turns a field as the store names it ("display name") into the
// API's JSON name ("name").
func jsonField(f string) string {
	switch f {
	case "display name":
		return "name"
	case "note":
		return "reason"
	}
	return strings.ReplaceAll(f, " ", "_")
}

// writeList answers {key: [view(item), ...]} (an empty list, never null),
// or the error that kept the items from being read.
func writeList[T, V any](s *Server, w http.ResponseWriter, r *http.Request, key string, items []T, err error, view func(T) V) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]V, 0, len(items))
	for _, it := range items {
		out = append(out, view(it))
	}
	webui.WriteJSON(w, http.StatusOK, map[string]any{key: out})
}
