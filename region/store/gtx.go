package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// gtx is one gallery transaction: the changes it makes to what sites
// should hold are collected and issued as one revision per site (flush),
// and its audit records are appended last, so that every transaction
// takes its row locks in one order: persons and transfers, then the
// sites' revision counters (sorted), then the audit head.
type gtx struct {
	s   *db
	ctx context.Context
	tx  *sql.Tx
	now time.Time
	// ops: site -> person -> true for an upsert, false for a removal.
	ops map[string]map[string]bool
	// issued: the revision issued to each site by this transaction.
	issued map[string]uint64
	// touched: sites whose gallery_sites row the transaction changes
	// after flush, locked by flush in its order.
	touched map[string]bool
	audits  []AuditEntry
}

// galleryTx runs fn in a write transaction and then issues its revisions
// and appends its audit records.
func (s *db) galleryTx(ctx context.Context, fn func(g *gtx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		g := s.newGtx(ctx, tx, s.opt.Now())
		if err := fn(g); err != nil {
			return err
		}
		return g.finish()
	})
}

func (s *db) newGtx(ctx context.Context, tx *sql.Tx, now time.Time) *gtx {
	return &gtx{s: s, ctx: ctx, tx: tx, now: now, ops: map[string]map[string]bool{},
		issued: map[string]uint64{}, touched: map[string]bool{}}
}

func (g *gtx) exec(q string, args ...any) (int64, error) { return g.s.exec(g.ctx, g.tx, q, args...) }

func (g *gtx) queryRow(q string, args ...any) *sql.Row {
	return g.tx.QueryRowContext(g.ctx, g.s.d.bind(q), args...)
}

func (g *gtx) query(q string, args ...any) (*sql.Rows, error) {
	return g.tx.QueryContext(g.ctx, g.s.d.bind(q), args...)
}

// upsert notes that site must hold person as it is now ("" site: none).
func (g *gtx) upsert(site, person string) { g.note(site, person, true) }

// remove notes that site must drop person ("" site: none).
func (g *gtx) remove(site, person string) { g.note(site, person, false) }

func (g *gtx) note(site, person string, upsert bool) {
	if site == "" {
		return
	}
	if g.ops[site] == nil {
		g.ops[site] = map[string]bool{}
	}
	g.ops[site][person] = upsert
}

// touch makes flush lock (creating when absent) the site's row.
func (g *gtx) touch(site string) { g.touched[site] = true }

// audit queues an audit record; finish appends it.
func (g *gtx) audit(actor, action, object, detail string) {
	g.audits = append(g.audits, AuditEntry{Actor: actor, Action: action, Object: object, Detail: detail})
}

// flush issues one revision per site with noted changes, sites in order.
func (g *gtx) flush() error {
	sites := make([]string, 0, len(g.ops)+len(g.touched))
	for site := range g.ops {
		sites = append(sites, site)
	}
	for site := range g.touched {
		sites = append(sites, site)
	}
	slices.Sort(sites)
	sites = slices.Compact(sites)
	for _, site := range sites {
		if g.ops[site] == nil {
			// ON CONFLICT DO UPDATE locks the row (PostgreSQL).
			if _, err := g.exec(`INSERT INTO gallery_sites (site) VALUES (?)
				ON CONFLICT (site) DO UPDATE SET issued = gallery_sites.issued`, site); err != nil {
				return err
			}
			delete(g.touched, site)
			continue
		}
		var ups, rems []string
		for p, up := range g.ops[site] {
			if up {
				ups = append(ups, p)
			} else {
				rems = append(rems, p)
			}
		}
		slices.Sort(ups)
		slices.Sort(rems)
		rev, err := g.issue(site, ups, rems)
		if err != nil {
			return fmt.Errorf("issue revision to %s: %w", site, err)
		}
		g.issued[site] = rev
		delete(g.ops, site)
	}
	return nil
}

// issue takes the site's next revision number and records the revision.
func (g *gtx) issue(site string, upserts, removals []string) (uint64, error) {
	var rev int64
	if err := g.queryRow(`INSERT INTO gallery_sites (site, issued) VALUES (?, 1)
		ON CONFLICT (site) DO UPDATE SET issued = gallery_sites.issued + 1 RETURNING issued`, site).Scan(&rev); err != nil {
		return 0, err
	}
	if _, err := g.exec(`INSERT INTO gallery_revisions (site, revision, is_full, issued_ns, upserts, removals) VALUES (?, ?, ?, ?, ?, ?)`,
		site, rev, false, g.now.UnixNano(), jsonList(upserts), jsonList(removals)); err != nil {
		return 0, err
	}
	return uint64(rev), nil
}

func (g *gtx) finish() error {
	if err := g.flush(); err != nil {
		return err
	}
	for _, a := range g.audits {
		a.At = g.now
		if err := g.s.appendAudit(g.ctx, g.tx, a); err != nil {
			return fmt.Errorf("audit %s: %w", a.Action, err)
		}
	}
	return nil
}

// jsonList encodes a list of strings as a JSON array ("[]" for none).
func jsonList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // strings always encode
	return string(b)
}

func parseList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("stored list %.40q: %w", s, err)
	}
	return l, nil
}
