package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
)

// ZoneKind says what a zone is for. Of the kinds, the rules engine knows
// staff_only alone: a staff-only zone, where an unknown face raises an
// alert.
type ZoneKind string

const (
	ZoneGeneral   ZoneKind = "general"
	ZoneHousing   ZoneKind = "housing"
	ZoneYard      ZoneKind = "yard"
	ZoneStaffOnly ZoneKind = "staff_only"
	ZoneVisiting  ZoneKind = "visiting"
	ZoneMedical   ZoneKind = "medical"
	ZoneEntrance  ZoneKind = "entrance"
	ZonePerimeter ZoneKind = "perimeter"
)

// ZoneKinds lists every valid kind.
var ZoneKinds = []ZoneKind{ZoneGeneral, ZoneHousing, ZoneYard, ZoneStaffOnly, ZoneVisiting, ZoneMedical, ZoneEntrance, ZonePerimeter}

func (k ZoneKind) valid() bool { return slices.Contains(ZoneKinds, k) }

// Zone is an area of the facility covered by one or more cameras.
type Zone struct {
	ID   string
	Name string
	Kind ZoneKind
}

func (z Zone) validate() error {
	const what = "zone"
	if err := checkID(what, "id", z.ID); err != nil {
		return err
	}
	if err := checkText(what, "name", z.Name, MaxNameBytes, true, false); err != nil {
		return err
	}
	if !z.Kind.valid() {
		return invalid(what, "kind", "%q is not one of %v", z.Kind, ZoneKinds)
	}
	return nil
}

// Camera is one camera and the zone it watches.
type Camera struct {
	ID     string
	Name   string
	ZoneID string
	// Region is the polygon of the picture that is the zone (see
	// SetCameraRegion); nil for the whole picture. Cameras fills it;
	// PutCamera ignores it and keeps the stored one.
	Region []Point
}

func (c Camera) validate() error {
	const what = "camera"
	if err := checkID(what, "id", c.ID); err != nil {
		return err
	}
	if err := checkText(what, "name", c.Name, MaxNameBytes, true, false); err != nil {
		return err
	}
	return checkID(what, "zone", c.ZoneID)
}

// PutZone creates or replaces a zone.
func (s *Store) PutZone(ctx context.Context, actor string, z Zone) error {
	if err := checkID("zone", "actor", actor); err != nil {
		return err
	}
	if err := z.validate(); err != nil {
		return err
	}
	return s.write(ctx, "put zone "+z.ID, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO zones (id, name, kind, updated_at_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, updated_at_ms = excluded.updated_at_ms`,
			z.ID, z.Name, string(z.Kind), s.nowMs())
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, actor, "zone.put", "zone:"+z.ID, map[string]string{"kind": string(z.Kind)})
	})
}

// Zones returns every zone ordered by id.
func (s *Store) Zones(ctx context.Context) ([]Zone, error) {
	return readRows(ctx, s, "zones", nil, func(r scanner) (Zone, error) {
		var z Zone
		err := r.Scan(&z.ID, &z.Name, &z.Kind)
		return z, err
	}, `SELECT id, name, kind FROM zones ORDER BY id`)
}

// PutCamera creates or replaces a camera; its zone must exist. The
// camera's region is kept as it is: the daemon puts its cameras from its
// configuration at every start, and the region is drawn in the monitor.
func (s *Store) PutCamera(ctx context.Context, actor string, c Camera) error {
	if err := checkID("camera", "actor", actor); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	return s.write(ctx, "put camera "+c.ID, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "zones", "zone", c.ZoneID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO cameras (id, name, zone_id, updated_at_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, zone_id = excluded.zone_id, updated_at_ms = excluded.updated_at_ms`,
			c.ID, c.Name, c.ZoneID, s.nowMs())
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, actor, "camera.put", "camera:"+c.ID, map[string]string{"zone": c.ZoneID})
	})
}

// Cameras returns every camera, with its region, ordered by id.
func (s *Store) Cameras(ctx context.Context) ([]Camera, error) {
	return readRows(ctx, s, "cameras", nil, func(r scanner) (Camera, error) {
		var c Camera
		var region sql.NullString
		if err := r.Scan(&c.ID, &c.Name, &c.ZoneID, &region); err != nil {
			return c, err
		}
		var err error
		if region.Valid {
			if c.Region, err = decodeRegion(region.String); err != nil {
				err = fmt.Errorf("camera %s: %w: region: %w", c.ID, ErrCorrupt, err)
			}
		}
		return c, err
	}, `SELECT id, name, zone_id, region FROM cameras ORDER BY id`)
}

// mustExist gives a clear ErrNotFound for a missing reference before the
// foreign key would give an anonymous one. table is a constant.
func mustExist(ctx context.Context, q querier, table, what, id string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
	return notFound(err, what, id)
}

// notFound turns the error of a lookup that found no row into ErrNotFound
// naming what was looked up; any other error is returned as it is.
func notFound(err error, what, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s %q", ErrNotFound, what, id)
	}
	return err
}

// Rule is one configured alert rule. Its kind, severity and params mean
// what package custody, the vocabulary the rules engine reads, says they
// mean.
type Rule struct {
	ID       string
	Kind     custody.Kind
	Name     string
	Params   json.RawMessage // JSON object in the form custody.ParseParams reads for Kind
	Severity custody.Severity
	Cooldown time.Duration // whole seconds, at most a day
	Enabled  bool
}

// validate checks r and returns its params in canonical form, the form
// they are stored in.
func (r Rule) validate() (canonical []byte, err error) {
	const what = "rule"
	if err := checkID(what, "id", r.ID); err != nil {
		return nil, err
	}
	if err := checkText(what, "name", r.Name, MaxNameBytes, true, false); err != nil {
		return nil, err
	}
	if !r.Kind.Valid() {
		return nil, invalid(what, "kind", "%q is not one of %v", r.Kind, custody.Kinds())
	}
	if !r.Severity.Valid() {
		return nil, invalid(what, "severity", "%q is not one of %v", r.Severity, custody.Severities())
	}
	if r.Cooldown < 0 || r.Cooldown > 24*time.Hour || r.Cooldown%time.Second != 0 {
		return nil, invalid(what, "cooldown", "must be whole seconds in 0s..24h, got %v", r.Cooldown)
	}
	// The limit keeps an oversized value out of the error messages and
	// the audit log; ParseParams has no need of one.
	if len(r.Params) > MaxParamsBytes {
		return nil, invalid("rule params", "params", "is %d bytes, at most %d are allowed", len(r.Params), MaxParamsBytes)
	}
	p, err := custody.ParseParams(r.Kind, r.Params)
	if err != nil {
		return nil, fromCustody("rule params", "params", err)
	}
	return json.Marshal(p)
}

// fromCustody turns an error of package custody into an *InvalidError that
// names the same field (the first one, where it found several), or field
// when it names none.
func fromCustody(what, field string, err error) error {
	var fe *custody.FieldError
	if errors.As(err, &fe) {
		return &InvalidError{What: what, Field: fe.Field, Reason: fe.Msg}
	}
	return invalid(what, field, "%v", err)
}

// PutRule creates or replaces a rule. Its params are validated for its
// kind and stored in canonical form.
func (s *Store) PutRule(ctx context.Context, actor string, r Rule) error {
	if err := checkID("rule", "actor", actor); err != nil {
		return err
	}
	params, err := r.validate()
	if err != nil {
		return err
	}
	return s.write(ctx, "put rule "+r.ID, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO rules (id, kind, name, params, severity, cooldown_s, enabled, updated_at_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, params = excluded.params,
				severity = excluded.severity, cooldown_s = excluded.cooldown_s, enabled = excluded.enabled,
				updated_at_ms = excluded.updated_at_ms`,
			r.ID, string(r.Kind), r.Name, string(params), string(r.Severity), int64(r.Cooldown/time.Second), boolInt(r.Enabled), s.nowMs())
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, actor, "rule.put", "rule:"+r.ID, map[string]any{
			"kind": r.Kind, "params": json.RawMessage(params), "severity": r.Severity,
			"cooldown_s": int64(r.Cooldown / time.Second), "enabled": r.Enabled})
	})
}

// Rules returns every rule ordered by id.
func (s *Store) Rules(ctx context.Context) ([]Rule, error) {
	return readRows(ctx, s, "rules", nil, func(sc scanner) (Rule, error) {
		var r Rule
		var params string
		var cooldown int64
		err := sc.Scan(&r.ID, &r.Kind, &r.Name, &params, &r.Severity, &cooldown, &r.Enabled)
		r.Params = json.RawMessage(params)
		r.Cooldown = time.Duration(cooldown) * time.Second
		return r, err
	}, `SELECT id, kind, name, params, severity, cooldown_s, enabled FROM rules ORDER BY id`)
}
