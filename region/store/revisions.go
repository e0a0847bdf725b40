package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// membersWhere selects the persons p a site should hold (site is an SQL
// expression): active at it, or in transit to it once its upsert was
// issued.
func membersWhere(site string) string {
	return `p.facility = ` + site + ` AND (p.status = '` + PersonActive + `' OR (p.status = '` + PersonInTransit + `'
	AND EXISTS (SELECT 1 FROM transfers t WHERE t.person = p.id AND t.to_site = p.facility AND t.state = '` + TransferInTransit + `')))`
}

func (s *db) GallerySites(ctx context.Context) ([]GallerySite, error) {
	out, err := queryAll(ctx, s, func(r *sql.Rows) (GallerySite, error) {
		var g GallerySite
		var issued, inForce, ackAt, sent, sentAt int64
		err := r.Scan(&g.Site, &issued, &inForce, &g.LastAckStatus, &g.LastAckReason, &ackAt, &sent, &sentAt, &g.Sends,
			&g.Members, &g.Pending)
		g.Issued, g.InForce, g.LastSent = uint64(issued), uint64(inForce), uint64(sent)
		g.LastAckAt, g.LastSentAt = fromNanos(ackAt), fromNanos(sentAt)
		return g, err
	}, `SELECT g.site, g.issued, g.in_force, g.ack_status, g.ack_reason, g.ack_ns, g.sent, g.sent_ns, g.sends,
		(SELECT count(*) FROM gallery_persons p WHERE `+membersWhere("g.site")+`),
		(SELECT count(*) FROM transfers t WHERE (t.from_site = g.site OR t.to_site = g.site) AND t.state IN `+openStates+`)
		FROM gallery_sites g ORDER BY g.site`)
	if err != nil {
		return nil, fmt.Errorf("region store: gallery sites: %w", err)
	}
	return out, nil
}

func (s *db) RevisionOps(ctx context.Context, site string, rev uint64) (RevisionOps, error) {
	o := RevisionOps{Site: site, Revision: rev}
	var issued int64
	var ups, rems string
	err := s.r.QueryRowContext(ctx, s.d.bind(`SELECT is_full, issued_ns, upserts, removals FROM gallery_revisions
		WHERE site = ? AND revision = ?`), site, int64(rev)).Scan(&o.Full, &issued, &ups, &rems)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err == nil {
		o.Issued = fromNanos(issued)
		if o.Upserts, err = parseList(ups); err == nil {
			o.Removals, err = parseList(rems)
		}
	}
	if err != nil {
		return RevisionOps{}, fmt.Errorf("region store: revision %d of %s: %w", rev, site, err)
	}
	return o, nil
}

func (s *db) SiteMembers(ctx context.Context, site string) ([]string, error) {
	out, err := queryAll(ctx, s, func(r *sql.Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT p.id FROM gallery_persons p WHERE `+membersWhere("?")+` ORDER BY p.id`, site)
	if err != nil {
		return nil, fmt.Errorf("region store: members of %s: %w", site, err)
	}
	return out, nil
}

func (s *db) NoteRevisionSent(ctx context.Context, site string, rev uint64, at time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.exec(ctx, tx, `UPDATE gallery_sites SET sent = `+s.d.greatest+`(sent, ?), sent_ns = ?, sends = sends + 1
			WHERE site = ?`, int64(rev), at.UnixNano(), site)
		if err == nil && n == 0 {
			err = fmt.Errorf("no revision was issued to it: %w", ErrNotFound)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("region store: note revision %d sent to %s: %w", rev, site, err)
	}
	return nil
}
