package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// DefaultLimit is the page size of the searches (Alerts, Sightings,
// QueryAudit) when the query gives none.
const DefaultLimit = 100

// pageLimit checks a query's limit: 0 means DefaultLimit, at most MaxBatch.
func pageLimit(what string, limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultLimit, nil
	case limit < 0 || limit > MaxBatch:
		return 0, invalid(what, "limit", "must be in 1..%d (0 for %d), got %d", MaxBatch, DefaultLimit, limit)
	}
	return limit, nil
}

// AcknowledgeAlert records that actor has taken an open alert and returns
// the alert as stored; audited as "alert.ack". An alert is acknowledged
// once: the same actor acknowledging it again gets it back unchanged (no
// second audit entry), another actor gets an error wrapping
// ErrAlreadyAcknowledged that names who took it. A decided alert is
// refused with ErrAlreadyDecided.
func (s *Store) AcknowledgeAlert(ctx context.Context, actor, id string) (Alert, error) {
	const what = "alert acknowledgement"
	if err := checkID(what, "actor", actor); err != nil {
		return Alert{}, err
	}
	if err := checkUUID(what, "alert", id); err != nil {
		return Alert{}, err
	}
	var out Alert
	err := s.write(ctx, "acknowledge alert "+id, func(tx *sql.Tx) error {
		var state string
		var ackBy sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT state, ack_by FROM alerts WHERE id = ?`, id).Scan(&state, &ackBy)
		if err != nil {
			return notFound(err, "alert", id)
		}
		switch {
		case state != string(AlertOpen):
			return fmt.Errorf("%w: alert %s is %s", ErrAlreadyDecided, id, state)
		case ackBy.Valid && ackBy.String != actor:
			return fmt.Errorf("%w: alert %s was acknowledged by %s", ErrAlreadyAcknowledged, id, ackBy.String)
		case !ackBy.Valid:
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET ack_by = ?, ack_at_ms = ? WHERE id = ?`,
				actor, s.nowMs(), id); err != nil {
				return err
			}
			if err := s.appendAudit(ctx, tx, actor, "alert.ack", "alert:"+id, nil); err != nil {
				return err
			}
		}
		out, err = scanAlert(tx.QueryRowContext(ctx, alertFrom+` WHERE a.id = ?`, id))
		return err
	})
	if err != nil {
		return Alert{}, err
	}
	return out, nil
}

// AlertQuery selects alerts for Alerts.
type AlertQuery struct {
	State  AlertState // "" for every state
	Limit  int        // 1..MaxBatch; 0 means DefaultLimit
	Before time.Time  // only alerts created before it; zero for no bound
}

// Alerts returns alerts newest first (by creation time, then id), with
// their acknowledgement and decision. A next page is asked for with Before
// set to the oldest CreatedAt of the page.
func (s *Store) Alerts(ctx context.Context, q AlertQuery) ([]Alert, error) {
	const what = "alert query"
	switch q.State {
	case "", AlertOpen, AlertConfirmed, AlertRejected:
	default:
		return nil, invalid(what, "state", "%q is not one of %q, %q, %q or empty for all",
			q.State, AlertOpen, AlertConfirmed, AlertRejected)
	}
	limit, err := pageLimit(what, q.Limit)
	if err != nil {
		return nil, err
	}
	where, args := ` WHERE 1`, []any{}
	if q.State != "" {
		where, args = where+` AND a.state = ?`, append(args, string(q.State))
	}
	if !q.Before.IsZero() {
		where, args = where+` AND a.created_at_ms < ?`, append(args, q.Before.UnixMilli())
	}
	return readRows(ctx, s, "alerts", []Alert{}, scanAlert,
		alertFrom+where+` ORDER BY a.created_at_ms DESC, a.id DESC LIMIT ?`, append(args, limit)...)
}
