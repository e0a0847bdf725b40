package monitor

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webui"
)

// maxCursor caps a ?before= page cursor: the store's cursors are far
// shorter.
const maxCursor = 256

// queryLimit reads ?limit=, def when absent, 1..max.
func queryLimit(q url.Values, def, max int) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, webui.Errorf(http.StatusBadRequest, "limit", "limit must be a whole number in 1..%d", max)
	}
	return n, nil
}

// queryTime reads an RFC 3339 time from ?name=, zero when absent.
func queryTime(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, webui.Errorf(http.StatusBadRequest, name, "%s must be an RFC 3339 time", name)
	}
	return t, nil
}

// queryRange reads ?from= and ?to=; when both are given from must come
// first.
func queryRange(q url.Values) (from, to time.Time, err error) {
	if from, err = queryTime(q, "from"); err != nil {
		return
	}
	if to, err = queryTime(q, "to"); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		err = webui.Errorf(http.StatusBadRequest, "to", "to must be after from")
	}
	return
}

// parseSightingQuery reads GET /sightings' parameters.
func parseSightingQuery(q url.Values) (store.SightingQuery, error) {
	sq := store.SightingQuery{PersonID: q.Get("person"), CameraID: q.Get("camera"), ZoneID: q.Get("zone"), Before: q.Get("before")}
	var err error
	if sq.Limit, err = queryLimit(q, 100, 500); err != nil {
		return sq, err
	}
	if sq.From, sq.To, err = queryRange(q); err != nil {
		return sq, err
	}
	if len(sq.Before) > maxCursor {
		return sq, webui.Errorf(http.StatusBadRequest, "before", "before is not a cursor from a previous page")
	}
	switch q.Get("unknown") {
	case "", "false":
	case "true":
		sq.UnknownOnly = true
	default:
		return sq, webui.Errorf(http.StatusBadRequest, "unknown", "unknown must be true or false")
	}
	if sq.UnknownOnly && sq.PersonID != "" {
		return sq, webui.Errorf(http.StatusBadRequest, "unknown", "unknown=true excludes person")
	}
	return sq, nil
}

// parseAuditQuery reads GET /audit's parameters.
func parseAuditQuery(q url.Values) (store.AuditQuery, error) {
	aq := store.AuditQuery{Actor: q.Get("actor"), Action: q.Get("action"), Object: q.Get("object")}
	var err error
	if aq.Limit, err = queryLimit(q, 200, 1000); err != nil {
		return aq, err
	}
	if v := q.Get("after"); v != "" {
		if aq.AfterSeq, err = strconv.ParseUint(v, 10, 64); err != nil {
			return aq, webui.Errorf(http.StatusBadRequest, "after", "after must be a sequence number")
		}
	}
	aq.From, aq.To, err = queryRange(q)
	return aq, err
}

// alertStates are the ?state= values of GET /alerts.
var alertStates = map[string]store.AlertState{
	"open": store.AlertOpen, "confirmed": store.AlertConfirmed, "rejected": store.AlertRejected, "all": "",
}

// parseAlertQuery reads GET /alerts' parameters.
func parseAlertQuery(q url.Values) (store.AlertQuery, error) {
	var aq store.AlertQuery
	name := q.Get("state")
	if name == "" {
		name = "open"
	}
	state, ok := alertStates[name]
	if !ok {
		return aq, webui.Errorf(http.StatusBadRequest, "state", "state must be open, confirmed, rejected or all")
	}
	aq.State = state
	var err error
	if aq.Limit, err = queryLimit(q, 50, 500); err != nil {
		return aq, err
	}
	aq.Before, err = queryTime(q, "before")
	return aq, err
}
