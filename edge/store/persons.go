package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
)

// PersonStatus is where a person stands in custody.
type PersonStatus string

const (
	StatusActive    PersonStatus = "active"     // held at this facility
	StatusInTransit PersonStatus = "in_transit" // being moved between facilities
	StatusReleased  PersonStatus = "released"
)

// PersonStatuses lists every valid status.
var PersonStatuses = []PersonStatus{StatusActive, StatusInTransit, StatusReleased}

func (v PersonStatus) valid() bool { return slices.Contains(PersonStatuses, v) }

// Person is a profile. Its face templates are stored separately.
type Person struct {
	ID          string // profile id from the regional information system
	DisplayName string
	Facility    string // facility id
	Status      PersonStatus
	Categories  []string // e.g. security categories; sorted, no duplicates
	WatchLists  []string // sorted, no duplicates
	// Origin says who manages the profile; set by the store (PutPerson
	// keeps it): OriginLocal for one enrolled at the site, OriginRegion
	// for one a gallery revision brought.
	Origin PersonOrigin
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt, UpdatedAt time.Time
}

func (p *Person) normalise() error {
	const what = "person"
	if err := checkID(what, "id", p.ID); err != nil {
		return err
	}
	if err := checkText(what, "display name", p.DisplayName, MaxNameBytes, true, false); err != nil {
		return err
	}
	if err := checkID(what, "facility", p.Facility); err != nil {
		return err
	}
	if !p.Status.valid() {
		return invalid(what, "status", "%q is not one of %v", p.Status, PersonStatuses)
	}
	var err error
	if p.Categories, err = checkTokens(what, "categories", p.Categories, 64); err != nil {
		return err
	}
	p.WatchLists, err = checkTokens(what, "watch lists", p.WatchLists, 64)
	return err
}

// PutPerson creates or replaces a profile with its categories and watch
// lists, and audits the change.
func (s *Store) PutPerson(ctx context.Context, actor string, p Person) error {
	if err := checkID("person", "actor", actor); err != nil {
		return err
	}
	if err := p.normalise(); err != nil {
		return err
	}
	return s.write(ctx, "put person "+p.ID, func(tx *sql.Tx) error {
		now := s.nowMs()
		var existed int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM persons WHERE id = ?`, p.ID).Scan(&existed); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO persons (id, display_name, facility, status, created_at_ms, updated_at_ms)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, facility = excluded.facility,
				status = excluded.status, updated_at_ms = excluded.updated_at_ms`,
			p.ID, p.DisplayName, p.Facility, string(p.Status), now, now)
		if err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM person_categories WHERE person_id = ?`, `DELETE FROM person_watchlists WHERE person_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, p.ID); err != nil {
				return err
			}
		}
		for _, c := range p.Categories {
			if _, err := tx.ExecContext(ctx, `INSERT INTO person_categories (person_id, category) VALUES (?, ?)`, p.ID, c); err != nil {
				return err
			}
		}
		for _, w := range p.WatchLists {
			if _, err := tx.ExecContext(ctx, `INSERT INTO person_watchlists (person_id, watchlist) VALUES (?, ?)`, p.ID, w); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, actor, "person.put", "person:"+p.ID, map[string]any{
			"created": existed == 0, "status": p.Status, "facility": p.Facility,
			"categories": p.Categories, "watch_lists": p.WatchLists})
	})
}

// Person returns one profile, or an error wrapping ErrNotFound.
func (s *Store) Person(ctx context.Context, id string) (Person, error) {
	var out []Person
	err := s.read(ctx, "person "+id, func(tx *sql.Tx) (err error) {
		out, err = loadPersons(ctx, tx, id)
		return err
	})
	if err != nil {
		return Person{}, err
	}
	if len(out) == 0 {
		return Person{}, fmt.Errorf("store: %w: person %q", ErrNotFound, id)
	}
	return out[0], nil
}

// Persons returns every profile ordered by id.
func (s *Store) Persons(ctx context.Context) ([]Person, error) {
	var out []Person
	err := s.read(ctx, "persons", func(tx *sql.Tx) (err error) {
		out, err = loadPersons(ctx, tx, "")
		return err
	})
	return out, err
}

// loadPersons reads one person (id != "") or all of them.
func loadPersons(ctx context.Context, tx *sql.Tx, id string) ([]Person, error) {
	where, args := "", []any{}
	if id != "" {
		where, args = " WHERE id = ?", []any{id}
	}
	out, err := appendRows(ctx, tx, nil, func(r scanner) (Person, error) {
		var p Person
		var created, updated int64
		err := r.Scan(&p.ID, &p.DisplayName, &p.Facility, &p.Status, &p.Origin, &created, &updated)
		p.CreatedAt, p.UpdatedAt = fromMs(created), fromMs(updated)
		return p, err
	}, `SELECT id, display_name, facility, status, origin, created_at_ms, updated_at_ms FROM persons`+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	for i, p := range out {
		index[p.ID] = i
	}
	where = ""
	if id != "" {
		where = " WHERE person_id = ?"
	}
	for _, q := range []struct {
		sql string
		add func(p *Person, v string)
	}{
		{`SELECT person_id, category FROM person_categories` + where + ` ORDER BY person_id, category`,
			func(p *Person, v string) { p.Categories = append(p.Categories, v) }},
		{`SELECT person_id, watchlist FROM person_watchlists` + where + ` ORDER BY person_id, watchlist`,
			func(p *Person, v string) { p.WatchLists = append(p.WatchLists, v) }},
	} {
		rows, err := tx.QueryContext(ctx, q.sql, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var pid, v string
			if err := rows.Scan(&pid, &v); err != nil {
				rows.Close()
				return nil, err
			}
			if i, ok := index[pid]; ok {
				q.add(&out[i], v)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Permit lets a person be in a zone during a weekly window.
type Permit struct {
	ID       int64 // assigned by the store
	PersonID string
	ZoneID   string
	// Window is written as custody.ParseWindow reads it ("mon-fri
	// 08:00-17:00") and stored in its canonical form (custody.Window
	// Canonical), which is what Permits returns: two spellings of one
	// window are one permit.
	Window string
}

// AddPermit stores a permit and returns its id.
func (s *Store) AddPermit(ctx context.Context, actor string, p Permit) (int64, error) {
	const what = "permit"
	if err := checkID(what, "actor", actor); err != nil {
		return 0, err
	}
	if err := checkID(what, "person", p.PersonID); err != nil {
		return 0, err
	}
	if err := checkID(what, "zone", p.ZoneID); err != nil {
		return 0, err
	}
	// The length limit keeps an oversized text out of the parse error.
	if err := checkText(what, "window", p.Window, MaxNameBytes, true, false); err != nil {
		return 0, err
	}
	w, err := custody.ParseWindow(p.Window)
	if err != nil {
		return 0, invalid(what, "window", "%v", err)
	}
	window := w.Canonical()
	var id int64
	err = s.write(ctx, "add permit", func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "persons", "person", p.PersonID); err != nil {
			return err
		}
		if err := mustExist(ctx, tx, "zones", "zone", p.ZoneID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO person_permits (person_id, zone_id, time_window) VALUES (?, ?, ?)`,
			p.PersonID, p.ZoneID, window)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, actor, "permit.add", "person:"+p.PersonID, map[string]any{
			"permit": id, "zone": p.ZoneID, "window": window})
	})
	return id, err
}

// RemovePermit deletes a permit.
func (s *Store) RemovePermit(ctx context.Context, actor string, id int64) error {
	if err := checkID("permit", "actor", actor); err != nil {
		return err
	}
	return s.write(ctx, "remove permit", func(tx *sql.Tx) error {
		var person string
		err := tx.QueryRowContext(ctx, `DELETE FROM person_permits WHERE id = ? RETURNING person_id`, id).Scan(&person)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: permit %d", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, actor, "permit.remove", "person:"+person, map[string]any{"permit": id})
	})
}

// Permits returns the permits of one person, or of everybody when personID
// is empty, ordered by person and id.
func (s *Store) Permits(ctx context.Context, personID string) ([]Permit, error) {
	q, args := `SELECT id, person_id, zone_id, time_window FROM person_permits`, []any{}
	if personID != "" {
		q, args = q+` WHERE person_id = ?`, []any{personID}
	}
	return readRows(ctx, s, "permits", nil, func(r scanner) (Permit, error) {
		var p Permit
		err := r.Scan(&p.ID, &p.PersonID, &p.ZoneID, &p.Window)
		return p, err
	}, q+` ORDER BY person_id, id`, args...)
}

// KeepApart is an order that two persons must not meet.
type KeepApart struct {
	A, B      string // person ids; stored with A < B
	Reason    string
	CreatedBy string    // set by the store
	CreatedAt time.Time // set by the store
}

// PutKeepApart stores (or updates the reason of) a keep-apart order.
func (s *Store) PutKeepApart(ctx context.Context, actor string, k KeepApart) error {
	const what = "keep-apart order"
	if err := checkID(what, "actor", actor); err != nil {
		return err
	}
	if err := checkID(what, "person a", k.A); err != nil {
		return err
	}
	if err := checkID(what, "person b", k.B); err != nil {
		return err
	}
	if k.A == k.B {
		return invalid(what, "person b", "is the same person as person a")
	}
	if err := checkText(what, "reason", k.Reason, MaxNoteBytes, true, true); err != nil {
		return err
	}
	if k.B < k.A {
		k.A, k.B = k.B, k.A
	}
	return s.write(ctx, "put keep-apart", func(tx *sql.Tx) error {
		for _, id := range []string{k.A, k.B} {
			if err := mustExist(ctx, tx, "persons", "person", id); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO keep_apart (person_a, person_b, reason, created_by, created_at_ms) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (person_a, person_b) DO UPDATE SET reason = excluded.reason`,
			k.A, k.B, k.Reason, actor, s.nowMs())
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, actor, "keep_apart.put", "persons:"+k.A+","+k.B, nil)
	})
}

// RemoveKeepApart lifts a keep-apart order.
func (s *Store) RemoveKeepApart(ctx context.Context, actor, a, b string) error {
	if err := checkID("keep-apart order", "actor", actor); err != nil {
		return err
	}
	if b < a {
		a, b = b, a
	}
	return s.write(ctx, "remove keep-apart", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM keep_apart WHERE person_a = ? AND person_b = ?`, a, b)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: keep-apart order for %q and %q", ErrNotFound, a, b)
		}
		return s.appendAudit(ctx, tx, actor, "keep_apart.remove", "persons:"+a+","+b, nil)
	})
}

// KeepAparts returns every keep-apart order.
func (s *Store) KeepAparts(ctx context.Context) ([]KeepApart, error) {
	return readRows(ctx, s, "keep-apart orders", nil, func(r scanner) (KeepApart, error) {
		var k KeepApart
		var at int64
		err := r.Scan(&k.A, &k.B, &k.Reason, &k.CreatedBy, &at)
		k.CreatedAt = fromMs(at)
		return k, err
	}, `SELECT person_a, person_b, reason, created_by, created_at_ms FROM keep_apart ORDER BY person_a, person_b`)
}
