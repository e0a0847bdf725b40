package store

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// SightingQuery selects sightings for Sightings. Empty fields select
// everything.
type SightingQuery struct {
	PersonID string
	CameraID string
	ZoneID   string // the zone of the sighting's camera
	// From and To bound LastSeen: From <= LastSeen < To; zero for no
	// bound.
	From, To    time.Time
	UnknownOnly bool   // unknown faces only; excludes PersonID
	Before      string // cursor: the next value Sightings returned, "" for the first page
	Limit       int    // 1..MaxBatch; 0 means DefaultLimit
}

// sightingCursor is the position after which a page continues: the last
// sighting of the previous page.
type sightingCursor struct {
	lastSeenMs int64
	id         string
}

// The cursor is opaque to callers; inside it is "<last seen ms>/<id>".
func (c sightingCursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.lastSeenMs, 10) + "/" + c.id))
}

func decodeSightingCursor(s string) (sightingCursor, error) {
	bad := invalid("sighting query", "before", "is not a cursor returned by Sightings")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return sightingCursor{}, bad
	}
	ms, id, ok := strings.Cut(string(raw), "/")
	if !ok {
		return sightingCursor{}, bad
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || checkUUID("sighting query", "before", id) != nil {
		return sightingCursor{}, bad
	}
	return sightingCursor{n, id}, nil
}

func (q SightingQuery) where() (string, []any, int, error) {
	const what = "sighting query"
	var conds []string
	var args []any
	for _, f := range []struct {
		field, column, v string
	}{{"person", "s.person_id", q.PersonID}, {"camera", "s.camera_id", q.CameraID}, {"zone", "c.zone_id", q.ZoneID}} {
		if f.v == "" {
			continue
		}
		if err := checkID(what, f.field, f.v); err != nil {
			return "", nil, 0, err
		}
		conds, args = append(conds, f.column+` = ?`), append(args, f.v)
	}
	if q.UnknownOnly {
		if q.PersonID != "" {
			return "", nil, 0, invalid(what, "unknown only", "excludes a person")
		}
		conds = append(conds, `s.person_id IS NULL`)
	}
	for _, b := range []struct {
		field, cond string
		t           time.Time
	}{{"from", `s.last_seen_ms >= ?`, q.From}, {"to", `s.last_seen_ms < ?`, q.To}} {
		if b.t.IsZero() {
			continue
		}
		if err := checkTime(what, b.field, b.t); err != nil {
			return "", nil, 0, err
		}
		conds, args = append(conds, b.cond), append(args, b.t.UnixMilli())
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return "", nil, 0, invalid(what, "to", "is not after from")
	}
	if q.Before != "" {
		c, err := decodeSightingCursor(q.Before)
		if err != nil {
			return "", nil, 0, err
		}
		conds = append(conds, `(s.last_seen_ms < ? OR (s.last_seen_ms = ? AND s.id < ?))`)
		args = append(args, c.lastSeenMs, c.lastSeenMs, c.id)
	}
	limit, err := pageLimit(what, q.Limit)
	if err != nil {
		return "", nil, 0, err
	}
	where := ""
	if len(conds) > 0 {
		where = ` WHERE ` + strings.Join(conds, ` AND `)
	}
	return where, args, limit, nil
}

// Sightings returns one page of the sightings q selects, newest first (by
// LastSeen, then id), without crops, and the cursor of the next page in
// next ("" on the last page). The page is read in one snapshot; sightings
// recorded later, being newer, never shift the pages after it. Recent
// sightings of a camera or person are the first page of such a query.
func (s *Store) Sightings(ctx context.Context, q SightingQuery) (page []Sighting, next string, err error) {
	where, args, limit, err := q.where()
	if err != nil {
		return nil, "", err
	}
	// One row more than the page tells whether there is a next page.
	page, err = readRows(ctx, s, "sightings", []Sighting{}, scanSighting,
		sightingFrom+where+` ORDER BY s.last_seen_ms DESC, s.id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	if len(page) > limit {
		page = page[:limit]
		last := page[limit-1]
		next = sightingCursor{last.LastSeen.UnixMilli(), last.ID}.encode()
	}
	return page, next, nil
}

// AuditQuery selects audit entries for QueryAudit. Empty fields select
// everything.
type AuditQuery struct {
	Actor string
	// Action is an exact action ("alert.ack") or, ending in ".", the
	// prefix of a family ("alert.").
	Action string
	// Object is an exact object ("person:P-1") or, ending in ":", the
	// prefix of a kind ("person:").
	Object string
	// From and To bound the entry's time: From <= At < To; zero for no
	// bound.
	From, To time.Time
	AfterSeq uint64 // entries with Seq > AfterSeq
	Limit    int    // 1..MaxBatch; 0 means DefaultLimit
}

// prefixRange matches column against v exactly, or against every value
// starting with v when v ends in sep: a range on the column, which its
// index serves, rather than LIKE, whose case folding and wildcards would
// need escaping.
func prefixRange(column, v string, sep byte) (string, []any) {
	if !strings.HasSuffix(v, string(sep)) {
		return column + ` = ?`, []any{v}
	}
	upper := v[:len(v)-1] + string(sep+1)
	return column + ` >= ? AND ` + column + ` < ?`, []any{v, upper}
}

// QueryAudit returns the audit entries q selects in ascending order of
// Seq. Consecutive entries (no filter but AfterSeq) are what a chain
// check needs; VerifyAudit checks the whole chain.
func (s *Store) QueryAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	const what = "audit query"
	var conds []string
	var args []any
	if q.Actor != "" {
		if err := checkID(what, "actor", q.Actor); err != nil {
			return nil, err
		}
		conds, args = append(conds, `actor = ?`), append(args, q.Actor)
	}
	if q.Action != "" {
		if err := checkID(what, "action", q.Action); err != nil {
			return nil, err
		}
		c, a := prefixRange("action", q.Action, '.')
		conds, args = append(conds, c), append(args, a...)
	}
	if q.Object != "" {
		if err := checkText(what, "object", q.Object, MaxNameBytes, true, false); err != nil {
			return nil, err
		}
		c, a := prefixRange("object", q.Object, ':')
		conds, args = append(conds, c), append(args, a...)
	}
	for _, b := range []struct {
		field, cond string
		t           time.Time
	}{{"from", `at_ms >= ?`, q.From}, {"to", `at_ms < ?`, q.To}} {
		if b.t.IsZero() {
			continue
		}
		if err := checkTime(what, b.field, b.t); err != nil {
			return nil, err
		}
		conds, args = append(conds, b.cond), append(args, b.t.UnixMilli())
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return nil, invalid(what, "to", "is not after from")
	}
	limit, err := pageLimit(what, q.Limit)
	if err != nil {
		return nil, err
	}
	conds, args = append(conds, `seq > ?`), append(args, int64(min(q.AfterSeq, 1<<63-1)))
	return readRows(ctx, s, "audit query", []AuditEntry{}, scanAudit,
		`SELECT seq, at_ms, actor, action, object, detail, prev_hash, hash FROM audit_log WHERE `+
			strings.Join(conds, ` AND `)+` ORDER BY seq LIMIT ?`, append(args, limit)...)
}
