package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Removed counts what RemovePerson deleted with a profile.
type Removed struct {
	Templates  int64 // face templates
	Photos     int64 // enrolment photos
	Crops      int64 // face crops of the person's sightings
	Permits    int64
	KeepAparts int64 // keep-apart orders naming the person
}

// RemovePerson deletes a profile and everything biometric the store holds
// of it, in one transaction: its face templates, enrolment photos,
// permits, the keep-apart orders naming it, and the face crops of its
// sightings. The sightings themselves stay, with the person's id, as the
// history of what happened, and so do the alerts on them; the audit log
// keeps the fact of the removal ("person.remove" with the counts).
// Messages already in the outbox are left as they were composed. An
// unknown person is ErrNotFound; a person the region manages (brought by a
// gallery revision) is ErrRegionManaged: the region removes or transfers
// it, and the site follows its revisions.
func (s *Store) RemovePerson(ctx context.Context, actor, id string) (Removed, error) {
	const what = "person removal"
	if err := checkID(what, "actor", actor); err != nil {
		return Removed{}, err
	}
	if err := checkID(what, "person", id); err != nil {
		return Removed{}, err
	}
	var r Removed
	err := s.write(ctx, "remove person "+id, func(tx *sql.Tx) error {
		var origin string
		if err := tx.QueryRowContext(ctx, `SELECT origin FROM persons WHERE id = ?`, id).Scan(&origin); err != nil {
			return notFound(err, "person", id)
		}
		if origin == string(OriginRegion) {
			return fmt.Errorf("%w: person %q is managed by the region: remove or transfer it there", ErrRegionManaged, id)
		}
		var err error
		if r, err = deletePerson(ctx, tx, id); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, actor, "person.remove", "person:"+id, r.detail())
	})
	if err != nil {
		return Removed{}, err
	}
	return r, nil
}

func (r Removed) detail() map[string]int64 {
	return map[string]int64{"templates": r.Templates, "photos": r.Photos, "crops": r.Crops, "permits": r.Permits, "keep_aparts": r.KeepAparts}
}

// deletePerson deletes a profile and what RemovePerson says goes with it,
// inside tx, and counts what it deleted. It does not audit.
func deletePerson(ctx context.Context, tx *sql.Tx, id string) (Removed, error) {
	var r Removed
	for _, step := range []struct {
		n     *int64
		query string
		args  []any
	}{
		{&r.Templates, `DELETE FROM face_templates WHERE person_id = ?`, []any{id}},
		{&r.Photos, `DELETE FROM enrolment_photos WHERE person_id = ?`, []any{id}},
		{&r.Crops, `UPDATE sightings SET best_crop = NULL WHERE person_id = ? AND best_crop IS NOT NULL`, []any{id}},
		{&r.Permits, `DELETE FROM person_permits WHERE person_id = ?`, []any{id}},
		{&r.KeepAparts, `DELETE FROM keep_apart WHERE person_a = ? OR person_b = ?`, []any{id, id}},
		{new(int64), `DELETE FROM persons WHERE id = ?`, []any{id}},
	} {
		res, err := tx.ExecContext(ctx, step.query, step.args...)
		if err != nil {
			return Removed{}, err
		}
		if *step.n, err = res.RowsAffected(); err != nil {
			return Removed{}, err
		}
	}
	return r, nil
}

// DeleteRule deletes a rule; audited as "rule.delete". Alerts it raised
// keep its id. An unknown rule is ErrNotFound.
func (s *Store) DeleteRule(ctx context.Context, actor, id string) error {
	if err := checkID("rule", "actor", actor); err != nil {
		return err
	}
	if err := checkID("rule", "id", id); err != nil {
		return err
	}
	return s.write(ctx, "delete rule "+id, func(tx *sql.Tx) error {
		var kind string
		err := tx.QueryRowContext(ctx, `DELETE FROM rules WHERE id = ? RETURNING kind`, id).Scan(&kind)
		if err != nil {
			return notFound(err, "rule", id)
		}
		return s.appendAudit(ctx, tx, actor, "rule.delete", "rule:"+id, map[string]string{"kind": kind})
	})
}
