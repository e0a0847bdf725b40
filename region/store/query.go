package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/sync/wire"
)

// nanos is a time as stored: nanoseconds since the epoch, 0 for the zero
// time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is nanos's inverse, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (s *db) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.r.QueryContext(ctx, s.d.bind(q), args...)
}

// queryAll runs a read query and scans every row with scan.
func queryAll[T any](ctx context.Context, s *db, scan func(*sql.Rows) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Sites lists every site. Cameras up/total come from the cameras' own
// statuses when the site sent any (each is its camera's latest state), and
// from the site status otherwise: a site status is composed at connect,
// before its cameras stream.
func (s *db) Sites(ctx context.Context) ([]Site, error) {
	out, err := queryAll(ctx, s, func(r *sql.Rows) (Site, error) {
		var st Site
		var at, seen, hi, co, head, missing, gallery int64
		err := r.Scan(&st.ID, &st.State, &st.Version, &at, &st.CamerasUp, &st.CamerasTotal, &st.OutboxDepth, &st.Reason, &seen,
			&hi, &co, &head, &st.OpenGaps, &missing, &gallery)
		st.StatusAt, st.LastSeen = fromNanos(at), fromNanos(seen)
		st.HighestSeq, st.ContiguousSeq, st.AuditHead, st.Missing = uint64(hi), uint64(co), uint64(head), uint64(missing)
		st.GalleryRevision = uint64(gallery)
		return st, err
	}, `SELECT s.site, s.state, s.version, s.status_at_ns,
		CASE WHEN EXISTS (SELECT 1 FROM cameras c WHERE c.site = s.site)
			THEN (SELECT count(*) FROM cameras c WHERE c.site = s.site AND c.state = ?)
			ELSE s.cameras_up END,
		CASE WHEN (SELECT count(*) FROM cameras c WHERE c.site = s.site) > s.cameras_total
			THEN (SELECT count(*) FROM cameras c WHERE c.site = s.site)
			ELSE s.cameras_total END,
		s.outbox_depth,
		s.reason, s.last_seen_ns, s.highest_seq, s.contiguous_seq, s.audit_head,
		(SELECT count(*) FROM gaps g WHERE g.site = s.site),
		(SELECT CAST(coalesce(sum(g.to_seq - g.from_seq + 1), 0) AS BIGINT) FROM gaps g WHERE g.site = s.site),
		coalesce((SELECT a.in_force FROM gallery_acks a WHERE a.site = s.site ORDER BY a.seq DESC LIMIT 1), 0)
		FROM sites s ORDER BY s.site`, wire.CameraUp)
	if err != nil {
		return nil, fmt.Errorf("region store: sites: %w", err)
	}
	return out, nil
}

func (s *db) Gaps(ctx context.Context, site string) ([]Gap, error) {
	out, err := queryAll(ctx, s, func(r *sql.Rows) (Gap, error) {
		var g Gap
		var from, to, first, last int64
		err := r.Scan(&from, &to, &first, &g.Requested, &last)
		g.From, g.To, g.FirstSeen, g.LastRequest = uint64(from), uint64(to), fromNanos(first), fromNanos(last)
		return g, err
	}, `SELECT from_seq, to_seq, first_seen_ns, requested, last_request_ns FROM gaps
		WHERE site = ? ORDER BY from_seq`, site)
	if err != nil {
		return nil, fmt.Errorf("region store: gaps of %s: %w", site, err)
	}
	return out, nil
}

func (s *db) NoteResendRequested(ctx context.Context, site string, g Gap, at time.Time) error {
	if g.From == 0 || g.To < g.From || g.To > wire.MaxSeq {
		return fmt.Errorf("region store: note resend: gap: want 1 <= from <= to <= 2^53-1, got %d..%d", g.From, g.To)
	}
	if at.IsZero() {
		return errors.New("region store: note resend: at: missing")
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Take the site's turn like Ingest, which may be splitting the gap.
		var one int
		err := tx.QueryRowContext(ctx, s.d.bind(`SELECT 1 FROM sites WHERE site = ?`+s.d.lockSite), site).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `UPDATE gaps SET requested = requested + 1, last_request_ns = ?
			WHERE site = ? AND from_seq <= ? AND to_seq >= ?`, at.UnixNano(), site, int64(g.To), int64(g.From))
		return err
	})
	if err != nil {
		return fmt.Errorf("region store: note resend for %s %d..%d: %w", site, g.From, g.To, err)
	}
	return nil
}

func (s *db) Cameras(ctx context.Context, site string) ([]Camera, error) {
	out, err := queryAll(ctx, s, func(r *sql.Rows) (Camera, error) {
		var c Camera
		var last, at int64
		err := r.Scan(&c.Site, &c.Camera, &c.State, &c.FPS, &last, &at, &c.Reason)
		c.LastFrame, c.At = fromNanos(last), fromNanos(at)
		return c, err
	}, `SELECT site, camera, state, fps, last_frame_ns, at_ns, reason FROM cameras
		WHERE site = ? ORDER BY camera`, site)
	if err != nil {
		return nil, fmt.Errorf("region store: cameras of %s: %w", site, err)
	}
	return out, nil
}

func pageLimit(n int) (int, error) {
	switch {
	case n < 0 || n > 1000:
		return 0, fmt.Errorf("limit: %d is outside [0, 1000]", n)
	case n == 0:
		return 100, nil
	}
	return n, nil
}

// where collects the conditions and arguments of a filtered query.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col+" = ?", v)
	}
}

func (w *where) span(col string, from, to time.Time) {
	if !from.IsZero() {
		w.add(col+" >= ?", from.UnixNano())
	}
	if !to.IsZero() {
		w.add(col+" < ?", to.UnixNano())
	}
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// A sightings cursor is the BestAt (ns) and ID of the last row returned.
func encodeCursor(at int64, id string) string { return strconv.FormatInt(at, 10) + "_" + id }

func decodeCursor(c string) (int64, string, error) {
	ns, id, ok := strings.Cut(c, "_")
	at, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil {
		return 0, "", fmt.Errorf("cursor: %q is not one this store returned", clip(c))
	}
	if _, err := wire.ParseID(id); err != nil {
		return 0, "", fmt.Errorf("cursor: %q is not one this store returned", clip(c))
	}
	return at, id, nil
}

func (s *db) Sightings(ctx context.Context, q SightingQuery) ([]Sighting, string, error) {
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, "", fmt.Errorf("region store: sightings: %w", err)
	}
	var w where
	w.eq("person", q.Person)
	w.eq("site", q.Site)
	w.eq("camera", q.Camera)
	w.span("best_at_ns", q.From, q.To)
	if q.Cursor != "" {
		at, id, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("region store: sightings: %w", err)
		}
		w.add("(best_at_ns < ? OR (best_at_ns = ? AND id < ?))", at, at, id)
	}
	args := append(w.args, limit+1)
	out, err := queryAll(ctx, s, func(r *sql.Rows) (Sighting, error) {
		var x Sighting
		var id string
		var seq, track, first, last, best, rx int64
		if err := r.Scan(&id, &seq, &x.Site, &x.Camera, &track, &x.Person, &first, &last, &best, &x.Frames, &x.Score, &x.Margin,
			&x.Quality, &x.Model, &x.Crop, &rx); err != nil {
			return x, err
		}
		x.Seq, x.Track = uint64(seq), uint64(track)
		x.FirstSeen, x.LastSeen, x.BestAt, x.Received = fromNanos(first), fromNanos(last), fromNanos(best), fromNanos(rx)
		var err error
		x.ID, err = wire.ParseID(id)
		return x, err
	}, `SELECT id, seq, site, camera, track, person, first_seen_ns, last_seen_ns, best_at_ns, frames,
		score, margin, quality, model, crop, received_ns FROM sightings`+w.String()+` ORDER BY best_at_ns DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("region store: sightings: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = encodeCursor(last.BestAt.UnixNano(), last.ID.String())
	}
	return out, next, nil
}

func (s *db) Alerts(ctx context.Context, q AlertQuery) ([]Alert, error) {
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, fmt.Errorf("region store: alerts: %w", err)
	}
	var w where
	w.eq("site", q.Site)
	w.eq("person", q.Person)
	w.span("at_ns", q.From, q.To)
	if q.Undecided {
		w.add("NOT EXISTS (SELECT 1 FROM decisions d WHERE d.alert = alerts.id)")
	}
	out, err := queryAll(ctx, s, func(r *sql.Rows) (Alert, error) {
		var a Alert
		var id, sighting, others string
		var seq, at, rx int64
		if err := r.Scan(&id, &seq, &a.Site, &a.Rule, &a.Kind, &a.Severity, &sighting, &a.Person, &others, &a.Camera, &a.Zone,
			&at, &a.Score, &a.Margin, &a.Frames, &a.Crop, &rx); err != nil {
			return a, err
		}
		a.Seq, a.At, a.Received = uint64(seq), fromNanos(at), fromNanos(rx)
		var err error
		if a.ID, err = wire.ParseID(id); err != nil {
			return a, err
		}
		if a.Sighting, err = wire.ParseID(sighting); err != nil {
			return a, err
		}
		if err := json.Unmarshal([]byte(others), &a.Others); err != nil {
			return a, err
		}
		if len(a.Others) == 0 {
			a.Others = nil // as the payload had it
		}
		return a, nil
	}, `SELECT id, seq, site, rule, kind, severity, sighting, person, others, camera, zone, at_ns,
		score, margin, frames, crop, received_ns FROM alerts`+w.String()+` ORDER BY at_ns DESC, id DESC LIMIT ?`, append(w.args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("region store: alerts: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]any, len(out))
	index := make(map[wire.ID]int, len(out))
	for i, a := range out {
		ids[i] = a.ID.String()
		index[a.ID] = i
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	decisions, err := queryAll(ctx, s, func(r *sql.Rows) (Decision, error) {
		var d Decision
		var id, alert string
		var seq, at int64
		if err := r.Scan(&id, &seq, &d.Site, &alert, &d.Decision, &d.By, &at, &d.Note); err != nil {
			return d, err
		}
		d.Seq, d.At = uint64(seq), fromNanos(at)
		var err error
		if d.ID, err = wire.ParseID(id); err != nil {
			return d, err
		}
		d.Alert, err = wire.ParseID(alert)
		return d, err
	}, `SELECT id, seq, site, alert, decision, by_user, at_ns, note FROM decisions
		WHERE alert IN (`+marks+`) ORDER BY at_ns, id`, ids...)
	if err != nil {
		return nil, fmt.Errorf("region store: decisions: %w", err)
	}
	for _, d := range decisions {
		a := &out[index[d.Alert]]
		if len(a.Decisions) == 0 {
			a.Latency = d.At.Sub(a.At)
		}
		a.Decisions = append(a.Decisions, d)
	}
	return out, nil
}

func (s *db) AuditHead(ctx context.Context, site string) (uint64, string, error) {
	var head int64
	var hash sql.NullString
	err := s.r.QueryRowContext(ctx, s.d.bind(`SELECT s.audit_head, a.hash FROM sites s
		LEFT JOIN audit a ON a.site = s.site AND a.audit_seq = s.audit_head WHERE s.site = ?`), site).Scan(&head, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, ZeroHash, nil
	case err != nil:
		return 0, "", fmt.Errorf("region store: audit head of %s: %w", site, err)
	case head == 0:
		return 0, ZeroHash, nil
	}
	return uint64(head), hash.String, nil
}

// maxBuckets bounds what one Counts call may ask for.
const maxBuckets = 100_000

func (s *db) Counts(ctx context.Context, from, to time.Time, bucket time.Duration) ([]Count, error) {
	switch {
	case bucket <= 0:
		return nil, fmt.Errorf("region store: counts: bucket: %v is not positive", bucket)
	case !to.After(from):
		return nil, fmt.Errorf("region store: counts: to: %s is not after from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	case to.Sub(from)/bucket > maxBuckets:
		return nil, fmt.Errorf("region store: counts: %v in buckets of %v is more than %d buckets", to.Sub(from), bucket, maxBuckets)
	}
	f, t, b := from.UnixNano(), to.UnixNano(), int64(bucket)
	type key struct {
		site string
		n    int64
	}
	counts := map[key]*Count{}
	get := func(site string, n int64) *Count {
		k := key{site, n}
		if counts[k] == nil {
			counts[k] = &Count{Site: site, Start: from.Add(time.Duration(n) * bucket).UTC()}
		}
		return counts[k]
	}
	// Integer division buckets the same way in both dialects; GROUP BY
	// names columns by position because PostgreSQL would take a repeated
	// expression with new parameters for a different one.
	tally := func(table, col, extra string, add func(c *Count, a, b int)) error {
		rows, err := s.query(ctx, `SELECT site, (`+col+` - ?) / ?, count(*)`+extra+` FROM `+table+`
			WHERE `+col+` >= ? AND `+col+` < ? GROUP BY 1, 2`, f, b, f, t)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var site string
			var n int64
			var x, y int
			dest := []any{&site, &n, &x}
			if extra != "" {
				dest = append(dest, &y)
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			add(get(site, n), x, y)
		}
		return rows.Err()
	}
	err := tally("sightings", "best_at_ns", "", func(c *Count, n, _ int) { c.Sightings += n })
	if err == nil {
		err = tally("alerts", "at_ns", "", func(c *Count, n, _ int) { c.Alerts += n })
	}
	if err == nil {
		err = tally("decisions", "at_ns", `, CAST(sum(CASE WHEN decision = 'confirmed' THEN 1 ELSE 0 END) AS BIGINT)`,
			func(c *Count, n, confirmed int) { c.Confirmed += confirmed; c.Rejected += n - confirmed })
	}
	if err != nil {
		return nil, fmt.Errorf("region store: counts: %w", err)
	}
	out := make([]Count, 0, len(counts))
	for _, c := range counts {
		out = append(out, *c)
	}
	sortCounts(out)
	return out, nil
}

func sortCounts(cs []Count) {
	slices.SortFunc(cs, func(a, b Count) int {
		if c := strings.Compare(a.Site, b.Site); c != 0 {
			return c
		}
		return a.Start.Compare(b.Start)
	})
}

func (s *db) QuarantinedMessages(ctx context.Context, site string, limit int) ([]QuarantineEntry, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, fmt.Errorf("region store: quarantine: %w", err)
	}
	var w where
	w.eq("site", site)
	out, err := queryAll(ctx, s, func(r *sql.Rows) (QuarantineEntry, error) {
		var q QuarantineEntry
		var seq, rx int64
		err := r.Scan(&q.Topic, &q.Site, &seq, &q.Raw, &q.Reason, &rx)
		q.Seq, q.Received = uint64(seq), fromNanos(rx)
		return q, err
	}, `SELECT topic, site, seq, raw, reason, received_ns FROM quarantine`+w.String()+
		` ORDER BY received_ns DESC, id DESC LIMIT ?`, append(w.args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("region store: quarantine: %w", err)
	}
	return out, nil
}
