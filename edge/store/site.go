package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// ZoneKind says what a zone is for; rules refer to kinds (an unknown face
// in any staff_only zone, say).
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
	var out []Zone
	err := s.read(ctx, "zones", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, name, kind FROM zones ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var z Zone
			if err := rows.Scan(&z.ID, &z.Name, &z.Kind); err != nil {
				return err
			}
			out = append(out, z)
		}
		return rows.Err()
	})
	return out, err
}

// PutCamera creates or replaces a camera; its zone must exist.
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

// Cameras returns every camera ordered by id.
func (s *Store) Cameras(ctx context.Context) ([]Camera, error) {
	var out []Camera
	err := s.read(ctx, "cameras", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, name, zone_id FROM cameras ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Camera
			if err := rows.Scan(&c.ID, &c.Name, &c.ZoneID); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// mustExist gives a clear ErrNotFound for a missing reference before the
// foreign key would give an anonymous one. table is a constant.
func mustExist(ctx context.Context, q querier, table, what, id string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s %q", ErrNotFound, what, id)
	}
	return err
}

// Severity ranks alerts.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Severities lists every valid severity, lowest first.
var Severities = []Severity{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

func (v Severity) valid() bool { return slices.Contains(Severities, v) }

// RuleKind selects what a rule watches for and how its params read.
type RuleKind string

const (
	// RuleWatchlist: a person on one of the listed watch lists is seen.
	RuleWatchlist RuleKind = "watchlist"
	// RuleZone: a person is seen outside their permitted zones and times.
	RuleZone RuleKind = "zone"
	// RuleUnknownFace: a face matching nobody is seen in a zone of the
	// listed kinds.
	RuleUnknownFace RuleKind = "unknown_face"
	// RuleKeepApart: two persons under a keep-apart order are seen in one
	// zone within the window.
	RuleKeepApart RuleKind = "keep_apart"
)

// RuleKinds lists every valid kind.
var RuleKinds = []RuleKind{RuleWatchlist, RuleZone, RuleUnknownFace, RuleKeepApart}

// Rule is one configured alert rule.
type Rule struct {
	ID       string
	Kind     RuleKind
	Name     string
	Params   json.RawMessage // JSON object; see ParseRuleParams
	Severity Severity
	Cooldown time.Duration // whole seconds, at most a day
	Enabled  bool
}

// Rule params, one type per kind. Unknown fields are errors.
type (
	WatchlistParams struct {
		Lists []string `json:"lists"` // at least one watch list
	}
	ZoneParams struct {
		// GraceSeconds tolerates a person this long past the end of a
		// permitted window (0..3600).
		GraceSeconds int `json:"grace_seconds"`
	}
	UnknownFaceParams struct {
		ZoneKinds []ZoneKind `json:"zone_kinds"` // at least one
		// MinFrames is how many frames a track needs before its unknown
		// face counts (0..1000; 0 means any).
		MinFrames int `json:"min_frames"`
	}
	KeepApartParams struct {
		WindowSeconds int `json:"window_seconds"` // 1..3600
	}
)

// ParseRuleParams decodes and validates the params of a rule of the given
// kind, strictly: one JSON object of at most MaxParamsBytes, no unknown
// fields, no trailing data. It returns a *WatchlistParams, *ZoneParams,
// *UnknownFaceParams or *KeepApartParams.
func ParseRuleParams(kind RuleKind, raw []byte) (any, error) {
	const what = "rule params"
	if len(raw) > MaxParamsBytes {
		return nil, invalid(what, "params", "is %d bytes, at most %d are allowed", len(raw), MaxParamsBytes)
	}
	var dst any
	switch kind {
	case RuleWatchlist:
		dst = &WatchlistParams{}
	case RuleZone:
		dst = &ZoneParams{}
	case RuleUnknownFace:
		dst = &UnknownFaceParams{}
	case RuleKeepApart:
		dst = &KeepApartParams{}
	default:
		return nil, invalid("rule", "kind", "%q is not one of %v", kind, RuleKinds)
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, invalid(what, string(kind), "must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return nil, invalid(what, string(kind), "%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid(what, string(kind), "has data after the JSON object")
	}
	if err := validateParams(dst); err != nil {
		return nil, err
	}
	return dst, nil
}

func validateParams(p any) error {
	const what = "rule params"
	switch p := p.(type) {
	case *WatchlistParams:
		if len(p.Lists) == 0 {
			return invalid(what, "lists", "is empty: name at least one watch list")
		}
		lists, err := checkTokens(what, "lists", p.Lists, 64)
		if err != nil {
			return err
		}
		if len(lists) != len(p.Lists) {
			return invalid(what, "lists", "names a watch list twice")
		}
	case *ZoneParams:
		if p.GraceSeconds < 0 || p.GraceSeconds > 3600 {
			return invalid(what, "grace_seconds", "must be in 0..3600, got %d", p.GraceSeconds)
		}
	case *UnknownFaceParams:
		if len(p.ZoneKinds) == 0 {
			return invalid(what, "zone_kinds", "is empty: name at least one zone kind")
		}
		for i, k := range p.ZoneKinds {
			if !k.valid() {
				return invalid(what, fmt.Sprintf("zone_kinds[%d]", i), "%q is not one of %v", k, ZoneKinds)
			}
			if slices.Contains(p.ZoneKinds[:i], k) {
				return invalid(what, fmt.Sprintf("zone_kinds[%d]", i), "repeats %q", k)
			}
		}
		if p.MinFrames < 0 || p.MinFrames > 1000 {
			return invalid(what, "min_frames", "must be in 0..1000, got %d", p.MinFrames)
		}
	case *KeepApartParams:
		if p.WindowSeconds < 1 || p.WindowSeconds > 3600 {
			return invalid(what, "window_seconds", "must be in 1..3600, got %d", p.WindowSeconds)
		}
	}
	return nil
}

func (r Rule) validate() (canonical []byte, err error) {
	const what = "rule"
	if err := checkID(what, "id", r.ID); err != nil {
		return nil, err
	}
	if err := checkText(what, "name", r.Name, MaxNameBytes, true, false); err != nil {
		return nil, err
	}
	if !r.Severity.valid() {
		return nil, invalid(what, "severity", "%q is not one of %v", r.Severity, Severities)
	}
	if r.Cooldown < 0 || r.Cooldown > 24*time.Hour || r.Cooldown%time.Second != 0 {
		return nil, invalid(what, "cooldown", "must be whole seconds in 0s..24h, got %v", r.Cooldown)
	}
	p, err := ParseRuleParams(r.Kind, r.Params)
	if err != nil {
		return nil, err
	}
	return json.Marshal(p)
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
	var out []Rule
	err := s.read(ctx, "rules", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, kind, name, params, severity, cooldown_s, enabled FROM rules ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r Rule
			var params string
			var cooldown int64
			if err := rows.Scan(&r.ID, &r.Kind, &r.Name, &params, &r.Severity, &cooldown, &r.Enabled); err != nil {
				return err
			}
			r.Params = json.RawMessage(params)
			r.Cooldown = time.Duration(cooldown) * time.Second
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}
