package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dozor-edge/dozor/sync/wire"
)

// errDuplicate rolls back a transaction that found nothing to change.
var errDuplicate = errors.New("duplicate")

// check refuses a message whose parts disagree; such a message is a bug
// in the caller, never something a site sent (wire.Decode checks sites).
func (m Message) check() error {
	if err := m.Topic.Validate(); err != nil {
		return fmt.Errorf("topic: %w", err)
	}
	if m.Payload == nil {
		return errors.New("payload: missing")
	}
	if k := m.Payload.TopicKind(); k != m.Topic.Kind {
		return fmt.Errorf("payload: a %v on a %v topic", k, m.Topic.Kind)
	}
	if m.Received.IsZero() {
		return errors.New("received: missing")
	}
	seq := wire.Message{Topic: m.Topic, Payload: m.Payload}.Seq()
	if seq != m.Seq {
		return fmt.Errorf("seq: %d, but the payload's is %d", m.Seq, seq)
	}
	var site string
	switch p := m.Payload.(type) {
	case wire.Sighting:
		site = p.Site
	case wire.Alert:
		site = p.Site
	case wire.AlertDecision:
		site = p.Site
	case wire.AuditRecord:
		site = p.Site
	case wire.GalleryAck:
		site = p.Site
	case wire.GalleryEnrolment:
		site = p.Site
	case wire.SiteStatus:
		site = p.Site
	case wire.CameraStatus:
		site = p.Site
		if p.Camera != m.Topic.Camera {
			return fmt.Errorf("camera: payload %q on topic camera %q", p.Camera, m.Topic.Camera)
		}
	default:
		return fmt.Errorf("payload: %T is not a site->region payload", m.Payload)
	}
	if site != m.Topic.Site {
		return fmt.Errorf("site: payload %q on topic site %q", site, m.Topic.Site)
	}
	return nil
}

func (s *db) Ingest(ctx context.Context, m Message) (Outcome, error) {
	if err := m.check(); err != nil {
		return 0, fmt.Errorf("region store: ingest: %w", err)
	}
	// Crops go to disk before the transaction: the row that names one is
	// never committed before the file is complete.
	var crop string
	var err error
	switch p := m.Payload.(type) {
	case wire.Sighting:
		if len(p.Crop) > 0 {
			crop, err = s.crops.put(p.Crop)
		}
	case wire.Alert:
		crop, err = s.crops.put(p.Evidence.Crop)
	}
	if err != nil {
		return 0, fmt.Errorf("region store: ingest %s: %w", m.Topic, err)
	}
	var out Outcome
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.ingest(ctx, tx, m, crop)
		return err
	})
	if errors.Is(err, errDuplicate) {
		return Duplicate, nil
	}
	if err != nil {
		return 0, fmt.Errorf("region store: ingest %s seq %d: %w", m.Topic, m.Seq, err)
	}
	return out, nil
}

func (s *db) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, s.d.bind(q), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s *db) ingest(ctx context.Context, tx *sql.Tx, m Message, crop string) (Outcome, error) {
	site, rx := m.Topic.Site, m.Received.UnixNano()
	// The site's row first: in PostgreSQL the upsert locks it, so the
	// writers of one site take turns for the whole transaction.
	if _, err := s.exec(ctx, tx, `INSERT INTO sites (site, last_seen_ns) VALUES (?, ?)
		ON CONFLICT (site) DO UPDATE SET last_seen_ns = `+s.d.greatest+`(sites.last_seen_ns, excluded.last_seen_ns)`, site, rx); err != nil {
		return 0, err
	}
	switch p := m.Payload.(type) {
	case wire.SiteStatus:
		n, err := s.exec(ctx, tx, `UPDATE sites SET status_at_ns = ?, state = ?, version = ?, cameras_up = ?, cameras_total = ?,
			outbox_depth = ?, reason = ? WHERE site = ? AND status_at_ns < ?`,
			p.At.UnixNano(), p.State, p.Version, p.CamerasUp, p.CamerasTotal, p.OutboxDepth, p.Reason, site, p.At.UnixNano())
		out, err := changed(n, err)
		if err != nil || p.LastSeq == 0 {
			return out, err
		}
		// Only a status newer than the one held speaks for the outbox:
		// an older one's last_seq is already known or was since filled.
		return out, s.expectSeq(ctx, tx, site, p.LastSeq, rx)
	case wire.CameraStatus:
		n, err := s.exec(ctx, tx, `INSERT INTO cameras (site, camera, state, fps, last_frame_ns, at_ns, reason) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (site, camera) DO UPDATE SET state = excluded.state, fps = excluded.fps, last_frame_ns = excluded.last_frame_ns,
			at_ns = excluded.at_ns, reason = excluded.reason WHERE cameras.at_ns < excluded.at_ns`,
			site, p.Camera, p.State, p.FPS, nanos(p.LastFrame), p.At.UnixNano(), p.Reason)
		return changed(n, err)
	}

	n, err := s.exec(ctx, tx, `INSERT INTO messages (site, seq, kind, status, received_ns) VALUES (?, ?, ?, 'stored', ?)
		ON CONFLICT (site, seq) DO NOTHING`, site, int64(m.Seq), m.Topic.Kind.String(), rx)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, errDuplicate
	}
	out := Stored
	switch p := m.Payload.(type) {
	case wire.Sighting:
		_, err = s.exec(ctx, tx, `INSERT INTO sightings (id, site, seq, camera, track, person, first_seen_ns, last_seen_ns, best_at_ns,
			frames, score, margin, model, quality, crop, received_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			p.ID.String(), site, int64(p.Seq), p.Camera, int64(p.Track), p.Person, p.FirstSeen.UnixNano(), p.LastSeen.UnixNano(),
			p.BestAt.UnixNano(), p.Frames, p.Score, p.Margin, p.Model, p.Quality, crop, rx)
	case wire.Alert:
		others, jerr := json.Marshal(p.Others)
		if jerr != nil {
			return 0, jerr
		}
		if p.Others == nil {
			others = []byte("[]")
		}
		_, err = s.exec(ctx, tx, `INSERT INTO alerts (id, site, seq, rule, kind, severity, sighting, person, others, camera, zone, at_ns,
			score, margin, frames, crop, received_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			p.ID.String(), site, int64(p.Seq), p.Rule, p.Kind, p.Severity, p.Sighting.String(), p.Person, string(others), p.Camera,
			p.Zone, p.At.UnixNano(), p.Evidence.Score, p.Evidence.Margin, p.Evidence.Frames, crop, rx)
	case wire.AlertDecision:
		_, err = s.exec(ctx, tx, `INSERT INTO decisions (id, site, seq, alert, decision, by_user, at_ns, note, received_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			p.ID.String(), site, int64(p.Seq), p.Alert.String(), p.Decision, p.By, p.At.UnixNano(), p.Note, rx)
	case wire.GalleryAck:
		err = s.ingestGalleryAck(ctx, tx, m, p)
	case wire.GalleryEnrolment:
		err = s.ingestEnrolment(ctx, tx, m, p)
	case wire.AuditRecord:
		out, err = s.ingestAudit(ctx, tx, m, p)
	}
	if err != nil {
		return 0, err
	}
	return out, s.advanceSeq(ctx, tx, site, m.Seq, rx)
}

func changed(n int64, err error) (Outcome, error) {
	switch {
	case err != nil:
		return 0, err
	case n == 0:
		return 0, errDuplicate
	}
	return Stored, nil
}

// ingestAudit stores an audit record that links to the site's stored
// chain on both sides, and quarantines one that does not. A quarantined
// record's (site, seq) stays received (status 'quarantined'): the site
// sent that seq and would send the same bytes again if asked, so leaving
// it missing would only make the region ask forever, and the quarantine
// keeps the bytes and the reason for whoever investigates.
func (s *db) ingestAudit(ctx context.Context, tx *sql.Tx, m Message, r wire.AuditRecord) (Outcome, error) {
	reason, stored, err := s.auditLink(ctx, tx, r)
	if err != nil {
		return 0, err
	}
	if reason != "" {
		if _, err := s.exec(ctx, tx, `UPDATE messages SET status = 'quarantined' WHERE site = ? AND seq = ?`, r.Site, int64(m.Seq)); err != nil {
			return 0, err
		}
		q := QuarantineEntry{Topic: m.Topic.String(), Site: r.Site, Seq: m.Seq, Raw: m.Raw, Reason: "audit chain: " + reason, Received: m.Received}
		return Quarantined, s.insertQuarantine(ctx, tx, q)
	}
	if stored {
		return Stored, nil
	}
	if _, err := s.exec(ctx, tx, `INSERT INTO audit (site, audit_seq, seq, id, at_ns, actor, role, action, object, detail, prev, hash,
		received_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Site, int64(r.AuditSeq), int64(r.Seq), r.ID.String(), r.At.UnixNano(), r.Actor, r.Role, r.Action, r.Object, r.Detail,
		r.Prev, r.Hash, m.Received.UnixNano()); err != nil {
		return 0, err
	}
	// Advance the verified head over the records that are now linked
	// from record 1 without a hole.
	var head int64
	if err := tx.QueryRowContext(ctx, s.d.bind(`SELECT audit_head FROM sites WHERE site = ?`), r.Site).Scan(&head); err != nil {
		return 0, err
	}
	if uint64(head)+1 != r.AuditSeq {
		return Stored, nil
	}
	for {
		var one int
		err := tx.QueryRowContext(ctx, s.d.bind(`SELECT 1 FROM audit WHERE site = ? AND audit_seq = ?`), r.Site, head+1).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return 0, err
		}
		head++
	}
	_, err = s.exec(ctx, tx, `UPDATE sites SET audit_head = ? WHERE site = ?`, head, r.Site)
	return Stored, err
}

// auditLink checks r against the neighbours already stored: the record
// before it must have r.Prev as its hash (record 1 has a zero prev), the
// record after it must name r.Hash as its prev. stored reports that the
// very same record is already stored under another seq. Which side of a
// mismatch was altered cannot be told; the record that arrives second is
// the one set aside, so what was stored never changes.
func (s *db) auditLink(ctx context.Context, tx *sql.Tx, r wire.AuditRecord) (reason string, stored bool, err error) {
	if r.AuditSeq == 0 {
		return "audit_seq missing: the region verifies each site's chain by it", false, nil
	}
	get := func(n uint64) (prev, hash string, seq int64, ok bool, err error) {
		err = tx.QueryRowContext(ctx, s.d.bind(`SELECT prev, hash, seq FROM audit WHERE site = ? AND audit_seq = ?`), r.Site, int64(n)).
			Scan(&prev, &hash, &seq)
		if errors.Is(err, sql.ErrNoRows) {
			return "", "", 0, false, nil
		}
		return prev, hash, seq, err == nil, err
	}
	prev, hash, seq, ok, err := get(r.AuditSeq)
	if err != nil {
		return "", false, err
	}
	if ok {
		if prev == r.Prev && hash == r.Hash {
			return "", true, nil
		}
		return fmt.Sprintf("audit_seq %d is already stored (seq %d) with hash %s; this record has hash %s", r.AuditSeq, seq, hash, r.Hash), false, nil
	}
	if r.AuditSeq == 1 {
		if r.Prev != ZeroHash {
			return fmt.Sprintf("audit_seq 1 has prev %s; the first record's prev is 64 zeros", r.Prev), false, nil
		}
	} else {
		_, hash, _, ok, err := get(r.AuditSeq - 1)
		if err != nil {
			return "", false, err
		}
		if ok && hash != r.Prev {
			return fmt.Sprintf("prev %s does not match the hash %s of the stored audit_seq %d", r.Prev, hash, r.AuditSeq-1), false, nil
		}
	}
	prev, _, _, ok, err = get(r.AuditSeq + 1)
	if err != nil {
		return "", false, err
	}
	if ok && prev != r.Hash {
		return fmt.Sprintf("hash %s does not match the prev %s of the stored audit_seq %d", r.Hash, prev, r.AuditSeq+1), false, nil
	}
	return "", false, nil
}

// advanceSeq keeps a site's highest and contiguous seq and its gaps, the
// ranges missing between them, after seq was received. A seq beyond the
// highest opens the range it skipped; a seq below it fills its place in
// a gap, splitting it when it lands inside. The contiguous seq is then
// just below the lowest gap.
func (s *db) advanceSeq(ctx context.Context, tx *sql.Tx, site string, seq uint64, rx int64) error {
	var highest int64
	if err := tx.QueryRowContext(ctx, s.d.bind(`SELECT highest_seq FROM sites WHERE site = ?`+s.d.lockSite), site).
		Scan(&highest); err != nil {
		return err
	}
	n := int64(seq)
	if n > highest {
		if n > highest+1 {
			if _, err := s.exec(ctx, tx, `INSERT INTO gaps (site, from_seq, to_seq, first_seen_ns) VALUES (?, ?, ?, ?)`,
				site, highest+1, n-1, rx); err != nil {
				return err
			}
		}
		highest = n
	} else {
		var from, to, first, requested, last int64
		err := tx.QueryRowContext(ctx, s.d.bind(`SELECT from_seq, to_seq, first_seen_ns, requested, last_request_ns FROM gaps
			WHERE site = ? AND from_seq <= ? AND to_seq >= ?`), site, n, n).Scan(&from, &to, &first, &requested, &last)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			if _, err := s.exec(ctx, tx, `DELETE FROM gaps WHERE site = ? AND from_seq = ?`, site, from); err != nil {
				return err
			}
			pieces := [][2]int64{{from, n - 1}, {n + 1, to}}
			for _, p := range pieces {
				if p[0] > p[1] {
					continue
				}
				if _, err := s.exec(ctx, tx, `INSERT INTO gaps (site, from_seq, to_seq, first_seen_ns, requested, last_request_ns)
					VALUES (?, ?, ?, ?, ?, ?)`, site, p[0], p[1], first, requested, last); err != nil {
					return err
				}
			}
		}
	}
	return s.setHighest(ctx, tx, site, highest)
}

// expectSeq notes that the site has assigned seqs up to last (its status
// says so): those above the highest received are a gap, opened as a
// skipped seq opens one, so the region asks for them even when the site
// sends nothing after them. The highest seq becomes last, which lets the
// messages fill the gap as they arrive.
func (s *db) expectSeq(ctx context.Context, tx *sql.Tx, site string, last uint64, rx int64) error {
	var highest int64
	if err := tx.QueryRowContext(ctx, s.d.bind(`SELECT highest_seq FROM sites WHERE site = ?`+s.d.lockSite), site).
		Scan(&highest); err != nil {
		return err
	}
	n := int64(last)
	if n <= highest {
		return nil
	}
	if _, err := s.exec(ctx, tx, `INSERT INTO gaps (site, from_seq, to_seq, first_seen_ns) VALUES (?, ?, ?, ?)`,
		site, highest+1, n, rx); err != nil {
		return err
	}
	return s.setHighest(ctx, tx, site, n)
}

// setHighest stores a site's highest seq and its contiguous seq, just
// below the lowest gap.
func (s *db) setHighest(ctx context.Context, tx *sql.Tx, site string, highest int64) error {
	var low sql.NullInt64
	if err := tx.QueryRowContext(ctx, s.d.bind(`SELECT min(from_seq) FROM gaps WHERE site = ?`), site).Scan(&low); err != nil {
		return err
	}
	contiguous := highest
	if low.Valid {
		contiguous = low.Int64 - 1
	}
	_, err := s.exec(ctx, tx, `UPDATE sites SET highest_seq = ?, contiguous_seq = ? WHERE site = ?`, highest, contiguous, site)
	return err
}

func (s *db) insertQuarantine(ctx context.Context, tx *sql.Tx, q QuarantineEntry) error {
	raw := q.Raw
	if raw == nil {
		raw = []byte{}
	}
	sum := sha256.Sum256(raw)
	_, err := s.exec(ctx, tx, `INSERT INTO quarantine (topic, site, seq, raw, raw_sha256, reason, received_ns) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (topic, raw_sha256) DO NOTHING`,
		q.Topic, q.Site, int64(q.Seq), raw, hex.EncodeToString(sum[:]), q.Reason, q.Received.UnixNano())
	return err
}

func (s *db) Quarantine(ctx context.Context, q QuarantineEntry) error {
	switch {
	case q.Reason == "":
		return errors.New("region store: quarantine: reason: missing")
	case q.Seq > wire.MaxSeq:
		return fmt.Errorf("region store: quarantine: seq: %d exceeds 2^53-1", q.Seq)
	}
	if q.Received.IsZero() {
		q.Received = s.opt.Now()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error { return s.insertQuarantine(ctx, tx, q) })
	if err != nil {
		return fmt.Errorf("region store: quarantine %q: %w", clip(q.Topic), err)
	}
	return nil
}
