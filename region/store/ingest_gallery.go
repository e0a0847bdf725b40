package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dozor-edge/dozor/sync/wire"
)

// ingestGalleryAck records what a site runs (its newest ack by seq wins)
// and advances the transfers the revision in force confirms, in the
// message's transaction.
func (s *db) ingestGalleryAck(ctx context.Context, tx *sql.Tx, m Message, p wire.GalleryAck) error {
	if _, err := s.exec(ctx, tx, `INSERT INTO gallery_acks (site, seq, revision, in_force, status, at_ns, templates, reason, received_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site, seq) DO NOTHING`,
		p.Site, int64(p.Seq), int64(p.Revision), int64(p.InForce), p.Status, p.At.UnixNano(), p.Templates, p.Reason,
		m.Received.UnixNano()); err != nil {
		return err
	}
	g := s.newGtx(ctx, tx, m.Received)
	if err := g.ackTransfers(p.Site, p.InForce); err != nil {
		return err
	}
	g.touch(p.Site)
	if err := g.flush(); err != nil {
		return err
	}
	// A site that runs a revision above the issued one (a region database
	// restored from an older backup) makes the next revision follow it.
	if _, err := s.exec(ctx, tx, `UPDATE gallery_sites SET in_force = ?, ack_seq = ?, ack_status = ?, ack_reason = ?, ack_ns = ?,
		issued = `+s.d.greatest+`(issued, ?) WHERE site = ? AND ack_seq < ?`,
		int64(p.InForce), int64(p.Seq), p.Status, p.Reason, m.Received.UnixNano(), int64(p.InForce), p.Site, int64(p.Seq)); err != nil {
		return err
	}
	return g.finish()
}

// ingestEnrolment merges a site's enrolment into the master gallery: an
// unknown person is created, held at the site; a known person keeps the
// region's profile. The photo is added unless the person has one with the
// same sha256, each template unless the person has one of that photo and
// model; whatever was added goes to the person's facility in a revision.
func (s *db) ingestEnrolment(ctx context.Context, tx *sql.Tx, m Message, e wire.GalleryEnrolment) error {
	g := s.newGtx(ctx, tx, m.Received)
	actor := clipTo(e.By+"@"+e.Site, 128)
	_, found, err := g.lockPerson(e.Person.ID)
	if err != nil {
		return err
	}
	if !found {
		if _, err := g.putPerson(actor, Person{ID: e.Person.ID, DisplayName: e.Person.DisplayName, Categories: e.Person.Categories,
			WatchLists: e.Person.WatchLists, Facility: e.Site, Status: PersonActive}); err != nil {
			return fmt.Errorf("person: %w", err)
		}
	}
	source := e.Photo.Source
	if source == "" {
		source = "enrolled at " + e.Site
	}
	_, photoAdded, err := g.addPhoto(actor, e.Person.ID, e.Photo.JPEG, source)
	if err != nil {
		return fmt.Errorf("photo: %w", err)
	}
	added := 0
	for i, t := range e.Templates {
		created, err := g.addTemplate(actor, Template{Person: e.Person.ID, PhotoSHA256: e.Photo.SHA256, Model: t.Model, Vec: t.Vec,
			Quality: t.Quality, Source: source})
		if err != nil {
			return fmt.Errorf("templates[%d]: %w", i, err)
		}
		if created {
			added++
		}
	}
	g.audit(actor, "gallery.enrol.site", e.Person.ID, fmt.Sprintf("site=%s enrolment=%s new_person=%t photo=%s photo_added=%t templates_added=%d",
		e.Site, e.ID, !found, e.Photo.SHA256, photoAdded, added))
	return g.finish()
}

// clipTo shortens s to at most n bytes on a rune boundary.
func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
