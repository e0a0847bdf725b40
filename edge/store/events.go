package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
	"github.com/dozor-edge/dozor/recognizer"
)

// Sighting is one identity decision for one track: who (or an unknown
// face), where, when, how sure, and the best face crop as evidence.
type Sighting struct {
	ID       string // UUID, chosen by the caller and used on the wire
	CameraID string
	// ZoneID is the zone of the sighting's camera, filled when reading
	// (the camera's zone now); ignored on input.
	ZoneID   string
	TrackID  uint64 // the tracker's id, at most math.MaxInt64
	PersonID string // empty for an unknown face
	// PersonName is the person's display name, filled when reading; empty
	// for an unknown face or a person removed since.
	PersonName string
	Model      recognizer.ModelID
	Score      float32 // best match score
	Margin     float32 // best score minus the runner-up's
	Quality    float32 // face quality in [0,1]
	Frames     int     // frames the decision rests on, at least 1
	// FirstSeen and LastSeen bound the track.
	FirstSeen, LastSeen time.Time
	// Crop is the best face crop (JPEG or PNG, at most MaxCropBytes); it
	// is stored encrypted. Optional on input; never filled by Sighting
	// (read it with Crop, which is audited).
	Crop []byte
	// HasCrop and RecordedAt are filled when reading.
	HasCrop    bool
	RecordedAt time.Time
}

func (sg *Sighting) validate() error {
	const what = "sighting"
	if err := checkUUID(what, "id", sg.ID); err != nil {
		return err
	}
	if err := checkID(what, "camera", sg.CameraID); err != nil {
		return err
	}
	if sg.TrackID > math.MaxInt64 {
		return invalid(what, "track id", "%d is above %d", sg.TrackID, int64(math.MaxInt64))
	}
	if sg.PersonID != "" {
		if err := checkID(what, "person", sg.PersonID); err != nil {
			return err
		}
	}
	if err := checkID(what, "model", string(sg.Model)); err != nil {
		return err
	}
	if err := checkFinite(what, "score", sg.Score); err != nil {
		return err
	}
	if err := checkFinite(what, "margin", sg.Margin); err != nil {
		return err
	}
	if err := checkUnit(what, "quality", sg.Quality); err != nil {
		return err
	}
	if sg.Frames < 1 {
		return invalid(what, "frames", "must be at least 1, got %d", sg.Frames)
	}
	if err := checkTime(what, "first seen", sg.FirstSeen); err != nil {
		return err
	}
	if err := checkTime(what, "last seen", sg.LastSeen); err != nil {
		return err
	}
	if sg.LastSeen.Before(sg.FirstSeen) {
		return invalid(what, "last seen", "is before first seen")
	}
	if sg.Crop != nil {
		return checkImage(what, "crop", sg.Crop, MaxCropBytes)
	}
	return nil
}

func cropAD(sightingID, cameraID string) []byte {
	return boundTo("sightings", "best_crop", sightingID, cameraID)
}

// RecordSighting stores a sighting and the outbox message compose makes
// for it (none when compose is nil) in one transaction, and returns the
// message's sequence number. When it returns nil the sighting is on disk
// (fsynced) and may be announced; on any error nothing of it was stored
// and no sequence number was used. Storing the crop is a biometric write
// and is audited as SystemActor in the same transaction, as is the crop's
// release when the message holds it (OutboxMessage.CropOf).
func (s *Store) RecordSighting(ctx context.Context, sg Sighting, compose Compose) (uint64, error) {
	if sg.Crop != nil {
		if err := s.needKey("record sighting"); err != nil {
			return 0, err
		}
	}
	if err := sg.validate(); err != nil {
		return 0, err
	}
	var seq uint64
	err := s.write(ctx, "record sighting "+sg.ID, func(tx *sql.Tx) (err error) {
		seq, err = s.recordSightingTx(ctx, tx, &sg, compose)
		return err
	})
	if err != nil {
		return 0, err
	}
	return seq, nil
}

// recordSightingTx is RecordSighting's work inside its transaction, for
// inputs already validated.
func (s *Store) recordSightingTx(ctx context.Context, tx *sql.Tx, sg *Sighting, compose Compose) (uint64, error) {
	if err := mustExist(ctx, tx, "cameras", "camera", sg.CameraID); err != nil {
		return 0, err
	}
	var person any
	if sg.PersonID != "" {
		if err := mustExist(ctx, tx, "persons", "person", sg.PersonID); err != nil {
			return 0, err
		}
		person = sg.PersonID
	}
	var crop any
	if sg.Crop != nil {
		crop = s.seal.seal(sg.Crop, cropAD(sg.ID, sg.CameraID))
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO sightings (id, camera_id, track_id, person_id, model_id, score, margin, quality,
		frames, first_seen_ms, last_seen_ms, best_crop, recorded_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sg.ID, sg.CameraID, int64(sg.TrackID), person, string(sg.Model), float64(sg.Score), float64(sg.Margin),
		float64(sg.Quality), sg.Frames, sg.FirstSeen.UnixMilli(), sg.LastSeen.UnixMilli(), crop, s.nowMs())
	if err != nil {
		return 0, err
	}
	if sg.Crop != nil {
		if err := s.appendAudit(ctx, tx, SystemActor, "crop.store", "sighting:"+sg.ID, map[string]any{
			"camera": sg.CameraID, "bytes": len(sg.Crop)}); err != nil {
			return 0, err
		}
	}
	return s.appendOutbox(ctx, tx, compose)
}

// sightingFrom reads sightings with their camera's zone; the columns are
// those scanSighting reads.
const sightingFrom = `SELECT s.id, s.camera_id, c.zone_id, s.track_id, s.person_id, p.display_name, s.model_id,
	s.score, s.margin, s.quality, s.frames, s.first_seen_ms, s.last_seen_ms, s.best_crop IS NOT NULL, s.recorded_at_ms
	FROM sightings s JOIN cameras c ON c.id = s.camera_id LEFT JOIN persons p ON p.id = s.person_id`

func scanSighting(sc scanner) (Sighting, error) {
	var sg Sighting
	var person, name sql.NullString
	var first, last, rec int64
	if err := sc.Scan(&sg.ID, &sg.CameraID, &sg.ZoneID, &sg.TrackID, &person, &name, &sg.Model, &sg.Score, &sg.Margin,
		&sg.Quality, &sg.Frames, &first, &last, &sg.HasCrop, &rec); err != nil {
		return sg, err
	}
	sg.PersonID, sg.PersonName = person.String, name.String
	sg.FirstSeen, sg.LastSeen, sg.RecordedAt = fromMs(first), fromMs(last), fromMs(rec)
	return sg, nil
}

// Sighting returns one sighting without its crop.
func (s *Store) Sighting(ctx context.Context, id string) (Sighting, error) {
	sg, err := scanSighting(s.r.QueryRowContext(ctx, sightingFrom+` WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Sighting{}, fmt.Errorf("store: %w: sighting %q", ErrNotFound, id)
	}
	if err != nil {
		return Sighting{}, dbErr(s.sqlite, "store: sighting "+id, err)
	}
	return sg, nil
}

// Crop decrypts the best face crop of a sighting for a person to look at;
// the read is audited under actor (the guard or supervisor looking at
// it). Crops leave for the region inside their outbox messages, never
// through Crop.
func (s *Store) Crop(ctx context.Context, actor, sightingID string) ([]byte, error) {
	if err := s.needKey("crop"); err != nil {
		return nil, err
	}
	if err := checkID("crop query", "actor", actor); err != nil {
		return nil, err
	}
	if err := checkUUID("crop query", "sighting", sightingID); err != nil {
		return nil, err
	}
	var out []byte
	err := s.write(ctx, "read crop of "+sightingID, func(tx *sql.Tx) error {
		var camera string
		var sealed []byte
		err := tx.QueryRowContext(ctx, `SELECT camera_id, best_crop FROM sightings WHERE id = ?`, sightingID).Scan(&camera, &sealed)
		if err != nil {
			return notFound(err, "sighting", sightingID)
		}
		if sealed == nil {
			return fmt.Errorf("%w: sighting %q has no crop", ErrNotFound, sightingID)
		}
		if out, err = s.seal.open(sealed, cropAD(sightingID, camera)); err != nil {
			return fmt.Errorf("crop of sighting %s: %w", sightingID, err)
		}
		return s.appendAudit(ctx, tx, actor, "crop.read", "sighting:"+sightingID, nil)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AlertState is where an alert is in review.
type AlertState string

const (
	AlertOpen      AlertState = "open"
	AlertConfirmed AlertState = "confirmed"
	AlertRejected  AlertState = "rejected"
)

// Alert is raised by a rule on a sighting, is acknowledged by the person
// who takes it, and waits for a person's decision.
type Alert struct {
	ID     string // UUID, chosen by the caller
	RuleID string
	// RuleName is the rule's name, filled when reading; empty when the
	// rule has been deleted since (the alert keeps its id).
	RuleName   string
	SightingID string
	// Severity defaults to the rule's when empty.
	Severity custody.Severity
	// Evidence is a JSON object explaining the alert (the rule's reasoning:
	// zone, window, watch list, the other person of a keep-apart order...).
	Evidence json.RawMessage
	// State, CreatedAt and Decision are set by the store; CreatedAt may be
	// given on input.
	State     AlertState
	CreatedAt time.Time
	// AckBy and AckAt say who acknowledged the alert and when
	// (AcknowledgeAlert); empty and zero until then. Set by the store.
	AckBy    string
	AckAt    time.Time
	Decision *AlertDecision
}

// AlertDecision is a person's verdict on an alert.
type AlertDecision struct {
	AlertID  string
	Actor    string
	Decision AlertState // AlertConfirmed or AlertRejected
	// Note is the reason for the decision: required, at most
	// MaxNoteBytes.
	Note string
	At   time.Time // zero means now
}

// RecordAlert stores an open alert and the outbox message compose makes
// for it in one transaction, like RecordSighting.
func (s *Store) RecordAlert(ctx context.Context, a Alert, compose Compose) (uint64, error) {
	const what = "alert"
	if err := checkUUID(what, "id", a.ID); err != nil {
		return 0, err
	}
	if err := checkID(what, "rule", a.RuleID); err != nil {
		return 0, err
	}
	if err := checkUUID(what, "sighting", a.SightingID); err != nil {
		return 0, err
	}
	if a.Severity != "" && !a.Severity.Valid() {
		return 0, invalid(what, "severity", "%q is not one of %v", a.Severity, custody.Severities())
	}
	if a.State != "" && a.State != AlertOpen {
		return 0, invalid(what, "state", "a new alert is open, got %q", a.State)
	}
	if a.Decision != nil {
		return 0, invalid(what, "decision", "is set on a new alert; use DecideAlert")
	}
	if a.AckBy != "" || !a.AckAt.IsZero() {
		return 0, invalid(what, "acknowledged by", "is set on a new alert; use AcknowledgeAlert")
	}
	evidence, err := checkJSONObject(what, "evidence", a.Evidence, MaxEvidenceBytes)
	if err != nil {
		return 0, err
	}
	if !a.CreatedAt.IsZero() {
		if err := checkTime(what, "created at", a.CreatedAt); err != nil {
			return 0, err
		}
	}
	return s.writeWithOutbox(ctx, "record alert "+a.ID, compose, func(tx *sql.Tx) error {
		var ruleSeverity string
		err := tx.QueryRowContext(ctx, `SELECT severity FROM rules WHERE id = ?`, a.RuleID).Scan(&ruleSeverity)
		if err != nil {
			return notFound(err, "rule", a.RuleID)
		}
		if err := mustExist(ctx, tx, "sightings", "sighting", a.SightingID); err != nil {
			return err
		}
		severity := string(a.Severity)
		if severity == "" {
			severity = ruleSeverity
		}
		created := s.nowMs()
		if !a.CreatedAt.IsZero() {
			created = a.CreatedAt.UnixMilli()
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO alerts (id, rule_id, severity, sighting_id, state, evidence, created_at_ms)
			VALUES (?, ?, ?, ?, 'open', ?, ?)`, a.ID, a.RuleID, severity, a.SightingID, string(evidence), created)
		return err
	})
}

// DecideAlert records a person's decision on an open, acknowledged alert,
// the audit entry for it and the outbox message compose makes (required:
// the region must learn of every decision) in one transaction, and returns
// the message's sequence number. The decision needs its reason (Note). An
// alert nobody has acknowledged yet is refused with ErrNotAcknowledged;
// the decider need not be the account that acknowledged it (a supervisor
// may decide a guard's alert). An alert is decided once: of two deciders
// the first to commit wins, the other gets ErrAlreadyDecided.
func (s *Store) DecideAlert(ctx context.Context, d AlertDecision, compose Compose) (uint64, error) {
	const what = "alert decision"
	if err := checkUUID(what, "alert", d.AlertID); err != nil {
		return 0, err
	}
	if err := checkID(what, "actor", d.Actor); err != nil {
		return 0, err
	}
	if d.Decision != AlertConfirmed && d.Decision != AlertRejected {
		return 0, invalid(what, "decision", "must be %q or %q, got %q", AlertConfirmed, AlertRejected, d.Decision)
	}
	if err := checkText(what, "note", d.Note, MaxNoteBytes, true, true); err != nil {
		return 0, err
	}
	if !d.At.IsZero() {
		if err := checkTime(what, "at", d.At); err != nil {
			return 0, err
		}
	}
	if compose == nil {
		return 0, invalid(what, "outbox", "is empty: a decision must be reported to the region")
	}
	return s.writeWithOutbox(ctx, "decide alert "+d.AlertID, compose, func(tx *sql.Tx) error {
		var state string
		var ackBy sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT state, ack_by FROM alerts WHERE id = ?`, d.AlertID).Scan(&state, &ackBy)
		if err != nil {
			return notFound(err, "alert", d.AlertID)
		}
		if state != string(AlertOpen) {
			return fmt.Errorf("%w: alert %s is %s", ErrAlreadyDecided, d.AlertID, state)
		}
		if !ackBy.Valid {
			return fmt.Errorf("%w: alert %s: acknowledge it before deciding", ErrNotAcknowledged, d.AlertID)
		}
		at := s.nowMs()
		if !d.At.IsZero() {
			at = d.At.UnixMilli()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_decisions (alert_id, actor, decision, note, decided_at_ms) VALUES (?, ?, ?, ?, ?)`,
			d.AlertID, d.Actor, string(d.Decision), d.Note, at); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = ? WHERE id = ?`, string(d.Decision), d.AlertID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, d.Actor, "alert.decide", "alert:"+d.AlertID, map[string]any{
			"decision": d.Decision, "note": d.Note})
	})
}

// alertFrom reads alerts with their rule's name and their decision; the
// columns are those scanAlert reads.
const alertFrom = `SELECT a.id, a.rule_id, r.name, a.sighting_id, a.severity, a.evidence, a.state, a.created_at_ms,
	a.ack_by, a.ack_at_ms, d.actor, d.decision, d.note, d.decided_at_ms
	FROM alerts a LEFT JOIN rules r ON r.id = a.rule_id LEFT JOIN alert_decisions d ON d.alert_id = a.id`

func scanAlert(sc scanner) (Alert, error) {
	var a Alert
	var evidence string
	var created int64
	var ruleName, ackBy, actor, decision, note sql.NullString
	var ackAt, decided sql.NullInt64
	if err := sc.Scan(&a.ID, &a.RuleID, &ruleName, &a.SightingID, &a.Severity, &evidence, &a.State, &created,
		&ackBy, &ackAt, &actor, &decision, &note, &decided); err != nil {
		return a, err
	}
	a.RuleName = ruleName.String
	a.Evidence = json.RawMessage(evidence)
	a.CreatedAt = fromMs(created)
	if ackBy.Valid {
		a.AckBy, a.AckAt = ackBy.String, fromMs(ackAt.Int64)
	}
	if actor.Valid {
		a.Decision = &AlertDecision{AlertID: a.ID, Actor: actor.String, Decision: AlertState(decision.String),
			Note: note.String, At: fromMs(decided.Int64)}
	}
	return a, nil
}

// Alert returns one alert with its decision, if any.
func (s *Store) Alert(ctx context.Context, id string) (Alert, error) {
	a, err := scanAlert(s.r.QueryRowContext(ctx, alertFrom+` WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Alert{}, fmt.Errorf("store: %w: alert %q", ErrNotFound, id)
	}
	if err != nil {
		return Alert{}, dbErr(s.sqlite, "store: alert "+id, err)
	}
	return a, nil
}

// OpenAlerts returns up to limit undecided alerts, oldest first.
func (s *Store) OpenAlerts(ctx context.Context, limit int) ([]Alert, error) {
	if limit <= 0 || limit > MaxBatch {
		return nil, invalid("alert query", "limit", "must be in 1..%d, got %d", MaxBatch, limit)
	}
	return readRows(ctx, s, "open alerts", nil, scanAlert, alertFrom+`
		WHERE a.state = 'open' ORDER BY a.created_at_ms, a.id LIMIT ?`, limit)
}
