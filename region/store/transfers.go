package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/sync/wire"
)

const transferCols = `id, person, from_site, to_site, state, reason, requested_by, requested_ns, removed_ns, transit_ns,
	active_ns, cancelled_by, cancelled_ns, cancel_reason, from_revision, to_revision`

func scanTransfer(r scanner) (Transfer, error) {
	var t Transfer
	var req, rem, transit, active, cancelled, fromRev, toRev int64
	err := r.Scan(&t.ID, &t.Person, &t.From, &t.To, &t.State, &t.Reason, &t.RequestedBy, &req, &rem, &transit, &active,
		&t.CancelledBy, &cancelled, &t.CancelReason, &fromRev, &toRev)
	t.RequestedAt, t.RemovedAt, t.TransitAt = fromNanos(req), fromNanos(rem), fromNanos(transit)
	t.ActiveAt, t.CancelledAt = fromNanos(active), fromNanos(cancelled)
	t.FromRevision, t.ToRevision = uint64(fromRev), uint64(toRev)
	return t, err
}

// transfer reads a transfer in the transaction (ErrNotFound). Callers
// lock the person first: every change of a transfer does, so the person's
// row serializes them.
func (g *gtx) transfer(id string) (Transfer, error) {
	t, err := scanTransfer(g.queryRow(`SELECT `+transferCols+` FROM transfers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("transfer %q: %w", clip(id), ErrNotFound)
	}
	return t, err
}

func (s *db) StartTransfer(ctx context.Context, actor, person, to, reason string) (Transfer, error) {
	var out Transfer
	err := s.galleryTx(ctx, func(g *gtx) error {
		var c fieldCheck
		c.token("actor", actor, true, 128)
		c.token("person", person, true, 128)
		c.site("to", to)
		c.text("reason", reason, 512)
		if c.err != nil {
			return c.err
		}
		p, err := g.mustPerson(person)
		if err != nil {
			return err
		}
		switch open, err := g.openTransfer(person); {
		case err != nil:
			return err
		case open != "":
			return fmt.Errorf("%w: transfer %s of this person is open (one at a time)", ErrConflict, open)
		case p.Status != PersonActive || p.Facility == "":
			return fmt.Errorf("%w: the person is %s at facility %q; only a person held active at a facility is transferred",
				ErrConflict, p.Status, p.Facility)
		case p.Facility == to:
			return fmt.Errorf("%w: to: the person is already held at %s", ErrInvalid, to)
		}
		id, err := wire.NewID()
		if err != nil {
			return err
		}
		if _, err := g.exec(`UPDATE gallery_persons SET facility = ?, status = ?, updated_ns = ? WHERE id = ?`,
			to, PersonInTransit, g.now.UnixNano(), person); err != nil {
			return err
		}
		g.remove(p.Facility, person)
		if err := g.flush(); err != nil {
			return err
		}
		out = Transfer{ID: id.String(), Person: person, From: p.Facility, To: to, State: TransferRequested, Reason: reason,
			RequestedBy: actor, RequestedAt: fromNanos(g.now.UnixNano()), FromRevision: g.issued[p.Facility]}
		if _, err := g.exec(`INSERT INTO transfers (id, person, from_site, to_site, state, reason, requested_by, requested_ns,
			from_revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, out.ID, person, out.From, to, out.State, reason, actor,
			g.now.UnixNano(), int64(out.FromRevision)); err != nil {
			return err
		}
		g.audit(actor, "transfer.start", out.ID, fmt.Sprintf("person=%s from=%s to=%s reason=%s", person, out.From, to, reason))
		return nil
	})
	if err != nil {
		return Transfer{}, fmt.Errorf("region store: start transfer of %q: %w", clip(person), err)
	}
	return out, nil
}

func (s *db) CancelTransfer(ctx context.Context, actor, id, reason string) (Transfer, error) {
	var out Transfer
	err := s.galleryTx(ctx, func(g *gtx) error {
		var c fieldCheck
		c.token("actor", actor, true, 128)
		c.text("reason", reason, 512)
		if c.err != nil {
			return c.err
		}
		t, err := g.transfer(id)
		if err != nil {
			return err
		}
		if _, err := g.mustPerson(t.Person); err != nil {
			return err
		}
		if t, err = g.transfer(id); err != nil { // again, under the person's lock
			return err
		}
		switch t.State {
		case TransferActive:
			return fmt.Errorf("%w: the destination %s confirmed the transfer at %s; transfer the person back instead",
				ErrConflict, t.To, t.ActiveAt.Format(time.RFC3339))
		case TransferCancelled:
			return fmt.Errorf("%w: already cancelled", ErrConflict)
		}
		if _, err := g.exec(`UPDATE gallery_persons SET facility = ?, status = ?, updated_ns = ? WHERE id = ?`,
			t.From, PersonActive, g.now.UnixNano(), t.Person); err != nil {
			return err
		}
		g.upsert(t.From, t.Person)
		if t.State == TransferInTransit {
			g.remove(t.To, t.Person)
		}
		if _, err := g.exec(`UPDATE transfers SET state = ?, cancelled_by = ?, cancelled_ns = ?, cancel_reason = ? WHERE id = ?`,
			TransferCancelled, actor, g.now.UnixNano(), reason, id); err != nil {
			return err
		}
		g.audit(actor, "transfer.cancel", id, fmt.Sprintf("person=%s from=%s to=%s state=%s reason=%s", t.Person, t.From, t.To, t.State, reason))
		out, err = g.transfer(id)
		return err
	})
	if err != nil {
		return Transfer{}, fmt.Errorf("region store: cancel transfer %q: %w", clip(id), err)
	}
	return out, nil
}

func (s *db) Transfer(ctx context.Context, id string) (Transfer, error) {
	t, err := scanTransfer(s.r.QueryRowContext(ctx, s.d.bind(`SELECT `+transferCols+` FROM transfers WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Transfer{}, fmt.Errorf("region store: transfer %q: %w", clip(id), err)
	}
	return t, nil
}

func (s *db) Transfers(ctx context.Context, q TransferQuery) ([]Transfer, error) {
	var where []string
	var args []any
	if q.Person != "" {
		where = append(where, "person = ?")
		args = append(args, q.Person)
	}
	if q.Site != "" {
		where = append(where, "(from_site = ? OR to_site = ?)")
		args = append(args, q.Site, q.Site)
	}
	if q.State != "" {
		where = append(where, "state = ?")
		args = append(args, q.State)
	}
	if q.Open {
		where = append(where, "state IN "+openStates)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, pageSize(q.Limit))
	out, err := queryAll(ctx, s, func(r *sql.Rows) (Transfer, error) { return scanTransfer(r) },
		`SELECT `+transferCols+` FROM transfers`+cond+` ORDER BY requested_ns DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("region store: transfers: %w", err)
	}
	return out, nil
}

func (s *db) AdvanceTransfers(ctx context.Context, now time.Time, sourceWait time.Duration) ([]Transfer, error) {
	var out []Transfer
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g := s.newGtx(ctx, tx, now)
		var err error
		out, err = g.advance(`state = ? AND requested_ns <= ?`, []any{TransferRequested, now.Add(-sourceWait).UnixNano()},
			func(t *Transfer) (string, error) {
				return g.toTransit(t, SystemActor, fmt.Sprintf("the source did not confirm within %s", sourceWait))
			})
		if err != nil {
			return err
		}
		return g.finish()
	})
	if err != nil {
		return nil, fmt.Errorf("region store: advance transfers: %w", err)
	}
	return out, nil
}

// advance changes the transfers matching cond: it locks their persons in
// order, reads each transfer again under the lock and, when it still
// matches, lets step change it. step returns the site whose revision,
// once issued, is the transfer's to_revision ("" for none). Then the
// revisions are issued and recorded in the transfers. It returns the
// transfers changed, as they are after.
func (g *gtx) advance(cond string, args []any, step func(t *Transfer) (toRevisionOf string, err error)) ([]Transfer, error) {
	type cand struct{ id, person string }
	var cands []cand
	if err := g.scanRows(func(r *sql.Rows) error {
		var c cand
		err := r.Scan(&c.id, &c.person)
		cands = append(cands, c)
		return err
	}, `SELECT id, person FROM transfers WHERE (`+cond+`) ORDER BY person, id`, args...); err != nil {
		return nil, err
	}
	var changed []Transfer
	var revOf []string
	for _, c := range cands {
		if _, err := g.mustPerson(c.person); err != nil {
			return nil, err
		}
		var still int
		if err := g.queryRow(`SELECT count(*) FROM transfers WHERE id = ? AND (`+cond+`)`, append([]any{c.id}, args...)...).Scan(&still); err != nil {
			return nil, err
		}
		if still == 0 {
			continue
		}
		t, err := g.transfer(c.id)
		if err != nil {
			return nil, err
		}
		site, err := step(&t)
		if err != nil {
			return nil, fmt.Errorf("transfer %s: %w", t.ID, err)
		}
		changed, revOf = append(changed, t), append(revOf, site)
	}
	if err := g.flush(); err != nil {
		return nil, err
	}
	for i := range changed {
		t := &changed[i]
		if revOf[i] != "" {
			t.ToRevision = g.issued[revOf[i]]
		}
		if _, err := g.exec(`UPDATE transfers SET state = ?, removed_ns = ?, transit_ns = ?, active_ns = ?, to_revision = ? WHERE id = ?`,
			t.State, nanos(t.RemovedAt), nanos(t.TransitAt), nanos(t.ActiveAt), int64(t.ToRevision), t.ID); err != nil {
			return nil, err
		}
	}
	return changed, nil
}

// toTransit puts a requested (or removed) transfer in transit: the
// destination gets the person.
func (g *gtx) toTransit(t *Transfer, actor, why string) (string, error) {
	t.State, t.TransitAt = TransferInTransit, fromNanos(g.now.UnixNano())
	g.upsert(t.To, t.Person)
	g.audit(actor, "transfer.in_transit", t.ID, fmt.Sprintf("person=%s to=%s: %s", t.Person, t.To, why))
	return t.To, nil
}

// ackTransfers advances the transfers a site's acknowledgement of
// revision inForce confirms: as source, its removal (and then at once the
// transit); as destination, the arrival.
func (g *gtx) ackTransfers(site string, inForce uint64) error {
	if inForce == 0 {
		return nil
	}
	actor, n := siteActor(site), int64(inForce)
	now := fromNanos(g.now.UnixNano())
	// A source that confirms after the source wait (the transfer already
	// in transit, or even complete) only gets its removal time noted.
	_, err := g.advance(`(from_site = ? AND state IN (?, ?, ?) AND removed_ns = 0 AND from_revision <= ?)
		OR (to_site = ? AND state = ? AND to_revision > 0 AND to_revision <= ?)`,
		[]any{site, TransferRequested, TransferInTransit, TransferActive, n, site, TransferInTransit, n}, func(t *Transfer) (string, error) {
			if t.To == site {
				t.State, t.ActiveAt = TransferActive, now
				if _, err := g.exec(`UPDATE gallery_persons SET status = ?, updated_ns = ? WHERE id = ? AND status = ?`,
					PersonActive, g.now.UnixNano(), t.Person, PersonInTransit); err != nil {
					return "", err
				}
				// The destination holds them as in transit: it gets them again, active.
				g.upsert(t.To, t.Person)
				g.audit(actor, "transfer.active_at_destination", t.ID, fmt.Sprintf("person=%s to=%s revision=%d", t.Person, t.To, inForce))
				return "", nil
			}
			t.RemovedAt = now
			g.audit(actor, "transfer.removed_at_source", t.ID, fmt.Sprintf("person=%s from=%s revision=%d", t.Person, t.From, inForce))
			if t.State != TransferRequested {
				return "", nil
			}
			t.State = TransferRemovedAtSource
			return g.toTransit(t, actor, "the source removed the person")
		})
	return err
}
