package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/dozor-edge/dozor/sync/wire"
)

// Limits of the master gallery's inputs.
const (
	// MaxPhotoBytes bounds an enrolment photo.
	MaxPhotoBytes = 8 << 20
	// MaxTemplateDim bounds a template vector's length.
	MaxTemplateDim = wire.MaxTemplateDim
	// MaxLabels bounds a person's categories and watch lists.
	MaxLabels = wire.MaxPersonLabels
)

// openStates are the states of a transfer that is not final, as SQL.
const openStates = `('` + TransferRequested + `', '` + TransferRemovedAtSource + `', '` + TransferInTransit + `')`

func checkPerson(p Person) error {
	var c fieldCheck
	c.token("person.id", p.ID, true, 128)
	c.token("person.display_name", p.DisplayName, true, 256)
	for _, l := range []struct {
		field string
		v     []string
	}{{"person.categories", p.Categories}, {"person.watch_lists", p.WatchLists}} {
		if len(l.v) > MaxLabels {
			c.fail(l.field, "%d entries, more than %d", len(l.v), MaxLabels)
		}
		for i, s := range l.v {
			c.token(fmt.Sprintf("%s[%d]", l.field, i), s, true, 128)
			if slices.Index(l.v, s) != i {
				c.fail(fmt.Sprintf("%s[%d]", l.field, i), "%q appears twice", s)
			}
		}
	}
	if p.Facility != "" {
		c.site("person.facility", p.Facility)
	}
	switch p.Status {
	case "", PersonActive, PersonReleased, PersonInTransit:
	default:
		c.fail("person.status", "%q is not %s, %s or %s", p.Status, PersonActive, PersonInTransit, PersonReleased)
	}
	return c.err
}

func checkPhoto(jpeg []byte, source string) error {
	var c fieldCheck
	switch {
	case len(jpeg) == 0:
		c.fail("jpeg", "missing")
	case len(jpeg) > MaxPhotoBytes:
		c.fail("jpeg", "%d bytes, larger than %d", len(jpeg), MaxPhotoBytes)
	case !bytes.HasPrefix(jpeg, []byte{0xFF, 0xD8, 0xFF}):
		c.fail("jpeg", "not a JPEG (no FF D8 FF start-of-image marker)")
	}
	c.token("source", source, false, 128)
	return c.err
}

func checkTemplate(t Template) error {
	var c fieldCheck
	c.token("template.person", t.Person, true, 128)
	c.sha256("template.photo_sha256", t.PhotoSHA256)
	c.token("template.model", t.Model, true, 128)
	switch {
	case len(t.Vec) == 0:
		c.fail("template.vec", "missing")
	case len(t.Vec) > MaxTemplateDim:
		c.fail("template.vec", "%d numbers, more than %d", len(t.Vec), MaxTemplateDim)
	}
	for i, x := range t.Vec {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			c.fail("template.vec", "element %d is not a finite number", i)
			break
		}
	}
	if !(t.Quality >= 0 && t.Quality <= 1) {
		c.fail("template.quality", "%v is outside [0, 1]", t.Quality)
	}
	c.token("template.source", t.Source, false, 128)
	return c.err
}

func (c *fieldCheck) sha256(field, s string) {
	if b, err := hex.DecodeString(s); err != nil || len(b) != sha256.Size || strings.ToLower(s) != s {
		c.fail(field, "%q is not a sha256 in lower-case hex", clip(s))
	}
}

func shaHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func encodeVec(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVec(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

const personCols = `p.id, p.display_name, p.categories, p.watch_lists, p.facility, p.status, p.created_ns, p.updated_ns,
	(SELECT count(*) FROM gallery_photos f WHERE f.person = p.id),
	(SELECT count(*) FROM gallery_templates t WHERE t.person = p.id)`

type scanner interface{ Scan(dest ...any) error }

func scanPerson(r scanner) (Person, error) {
	var p Person
	var cats, lists string
	var created, updated int64
	if err := r.Scan(&p.ID, &p.DisplayName, &cats, &lists, &p.Facility, &p.Status, &created, &updated, &p.Photos, &p.Templates); err != nil {
		return Person{}, err
	}
	p.Created, p.Updated = fromNanos(created), fromNanos(updated)
	var err error
	if p.Categories, err = parseList(cats); err == nil {
		p.WatchLists, err = parseList(lists)
	}
	return p, err
}

// lockPerson reads a person and locks their row until the transaction
// ends; found is false when there is none.
func (g *gtx) lockPerson(id string) (p Person, found bool, err error) {
	p, err = scanPerson(g.queryRow(`SELECT `+personCols+` FROM gallery_persons p WHERE p.id = ?`+g.s.d.lockSite, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Person{}, false, nil
	case err != nil:
		return Person{}, false, err
	}
	return p, true, nil
}

// mustPerson is lockPerson for a person that must exist.
func (g *gtx) mustPerson(id string) (Person, error) {
	p, found, err := g.lockPerson(id)
	if err == nil && !found {
		err = fmt.Errorf("person %q: %w", id, ErrNotFound)
	}
	return p, err
}

// holder is the site whose gallery has the person now ("" for none): the
// facility of an active person, the destination of a person in transit
// once the destination's upsert was issued.
func (g *gtx) holder(p Person) (string, error) {
	switch p.Status {
	case PersonActive:
		return p.Facility, nil
	case PersonInTransit:
		var n int
		if err := g.queryRow(`SELECT count(*) FROM transfers WHERE person = ? AND to_site = ? AND state = ?`,
			p.ID, p.Facility, TransferInTransit).Scan(&n); err != nil || n == 0 {
			return "", err
		}
		return p.Facility, nil
	}
	return "", nil
}

// openTransfer returns the id of the person's open transfer ("" for none).
func (g *gtx) openTransfer(person string) (string, error) {
	var id string
	err := g.queryRow(`SELECT id FROM transfers WHERE person = ? AND state IN `+openStates, person).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

func (s *db) PutPerson(ctx context.Context, actor string, p Person) error {
	err := s.galleryTx(ctx, func(g *gtx) error {
		_, err := g.putPerson(actor, p)
		return err
	})
	if err != nil {
		return fmt.Errorf("region store: put person %q: %w", clip(p.ID), err)
	}
	return nil
}

func (g *gtx) putPerson(actor string, p Person) (created bool, err error) {
	if err := checkPerson(p); err != nil {
		return false, err
	}
	var c fieldCheck
	if c.token("actor", actor, true, 128); c.err != nil {
		return false, c.err
	}
	old, found, err := g.lockPerson(p.ID)
	if err != nil {
		return false, err
	}
	if !found {
		switch p.Status {
		case "":
			p.Status = PersonActive
		case PersonInTransit:
			return false, fmt.Errorf("%w: status: %s is set by transfers only", ErrInvalid, PersonInTransit)
		}
		if _, err := g.exec(`INSERT INTO gallery_persons (id, display_name, categories, watch_lists, facility, status, search,
			created_ns, updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, p.DisplayName, jsonList(p.Categories),
			jsonList(p.WatchLists), p.Facility, p.Status, searchText(p), g.now.UnixNano(), g.now.UnixNano()); err != nil {
			return false, err
		}
		h, err := g.holder(p)
		g.upsert(h, p.ID)
		g.audit(actor, "gallery.person.create", p.ID, fmt.Sprintf("facility=%s status=%s", p.Facility, p.Status))
		return true, err
	}
	if p.Status == "" {
		p.Status = old.Status
	}
	switch {
	case p.Facility != old.Facility && old.Facility != "":
		return false, fmt.Errorf("%w: facility: %q holds the person; move them with a transfer (or a reassignment)", ErrConflict, old.Facility)
	case old.Status == PersonInTransit && p.Status != PersonInTransit:
		return false, fmt.Errorf("%w: status: the person is in transit; finish or cancel the transfer first", ErrConflict)
	case old.Status != PersonInTransit && p.Status == PersonInTransit:
		return false, fmt.Errorf("%w: status: %s is set by transfers only", ErrInvalid, PersonInTransit)
	}
	if p.DisplayName == old.DisplayName && slices.Equal(p.Categories, old.Categories) && slices.Equal(p.WatchLists, old.WatchLists) &&
		p.Facility == old.Facility && p.Status == old.Status {
		return false, nil
	}
	before, err := g.holder(old)
	if err != nil {
		return false, err
	}
	if _, err := g.exec(`UPDATE gallery_persons SET display_name = ?, categories = ?, watch_lists = ?, facility = ?, status = ?,
		search = ?, updated_ns = ? WHERE id = ?`, p.DisplayName, jsonList(p.Categories), jsonList(p.WatchLists), p.Facility,
		p.Status, searchText(p), g.now.UnixNano(), p.ID); err != nil {
		return false, err
	}
	after, err := g.holder(p)
	if err != nil {
		return false, err
	}
	if before != after {
		g.remove(before, p.ID)
	}
	g.upsert(after, p.ID)
	g.audit(actor, "gallery.person.update", p.ID, fmt.Sprintf("facility=%s status=%s", p.Facility, p.Status))
	return false, nil
}

// searchText is what Persons' Search matches: id and name in lower case.
func searchText(p Person) string { return strings.ToLower(p.ID + "\n" + p.DisplayName) }

func (s *db) Person(ctx context.Context, id string) (Person, error) {
	p, err := scanPerson(s.r.QueryRowContext(ctx, s.d.bind(`SELECT `+personCols+` FROM gallery_persons p WHERE p.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Person{}, fmt.Errorf("region store: person %q: %w", clip(id), err)
	}
	return p, nil
}

func (s *db) Persons(ctx context.Context, q PersonQuery) ([]Person, string, error) {
	where := []string{"p.id > ?"}
	args := []any{q.Cursor}
	if q.Search != "" {
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(q.Search))
		where = append(where, `p.search LIKE ? ESCAPE '\'`)
		args = append(args, "%"+esc+"%")
	}
	if q.Facility != "" {
		where = append(where, "p.facility = ?")
		args = append(args, q.Facility)
	}
	if q.Status != "" {
		where = append(where, "p.status = ?")
		args = append(args, q.Status)
	}
	n := pageSize(q.Limit)
	args = append(args, n+1)
	out, err := queryAll(ctx, s, func(r *sql.Rows) (Person, error) { return scanPerson(r) },
		`SELECT `+personCols+` FROM gallery_persons p WHERE `+strings.Join(where, " AND ")+` ORDER BY p.id LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("region store: persons: %w", err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		next = out[n-1].ID
	}
	return out, next, nil
}

func (s *db) RemovePerson(ctx context.Context, actor, id string) error {
	err := s.galleryTx(ctx, func(g *gtx) error {
		var c fieldCheck
		if c.token("actor", actor, true, 128); c.err != nil {
			return c.err
		}
		p, err := g.mustPerson(id)
		if err != nil {
			return err
		}
		if t, err := g.openTransfer(id); err != nil || t != "" {
			if err == nil {
				err = fmt.Errorf("%w: transfer %s is open; cancel it first", ErrConflict, t)
			}
			return err
		}
		h, err := g.holder(p)
		if err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM gallery_templates WHERE person = ?`, `DELETE FROM gallery_photos WHERE person = ?`,
			`DELETE FROM gallery_persons WHERE id = ?`} {
			if _, err := g.exec(q, id); err != nil {
				return err
			}
		}
		g.remove(h, id)
		g.audit(actor, "gallery.person.remove", id, fmt.Sprintf("facility=%s photos=%d templates=%d", p.Facility, p.Photos, p.Templates))
		return nil
	})
	if err != nil {
		return fmt.Errorf("region store: remove person %q: %w", clip(id), err)
	}
	return nil
}

func (s *db) ReassignPerson(ctx context.Context, actor, id, facility, reason string) error {
	err := s.galleryTx(ctx, func(g *gtx) error {
		var c fieldCheck
		c.token("actor", actor, true, 128)
		c.site("facility", facility)
		c.text("reason", reason, 512)
		if c.err != nil {
			return c.err
		}
		p, err := g.mustPerson(id)
		if err != nil {
			return err
		}
		if t, err := g.openTransfer(id); err != nil || t != "" {
			if err == nil {
				err = fmt.Errorf("%w: transfer %s is open; cancel it first", ErrConflict, t)
			}
			return err
		}
		if p.Facility == facility {
			return nil
		}
		before, err := g.holder(p)
		if err != nil {
			return err
		}
		if _, err := g.exec(`UPDATE gallery_persons SET facility = ?, updated_ns = ? WHERE id = ?`, facility, g.now.UnixNano(), id); err != nil {
			return err
		}
		from := p.Facility
		p.Facility = facility
		after, err := g.holder(p)
		if err != nil {
			return err
		}
		g.remove(before, id)
		g.upsert(after, id)
		g.audit(actor, "gallery.person.reassign", id, fmt.Sprintf("from=%s to=%s reason=%s", from, facility, reason))
		return nil
	})
	if err != nil {
		return fmt.Errorf("region store: reassign person %q: %w", clip(id), err)
	}
	return nil
}

func (s *db) Enrol(ctx context.Context, actor string, e Enrolment) (EnrolResult, error) {
	var res EnrolResult
	err := s.galleryTx(ctx, func(g *gtx) error {
		res = EnrolResult{}
		var err error
		if res.CreatedPerson, err = g.putPerson(actor, e.Person); err != nil {
			return err
		}
		for i, ph := range e.Photos {
			sha, created, err := g.addPhoto(actor, e.Person.ID, ph.JPEG, ph.Source)
			if err != nil {
				return fmt.Errorf("photos[%d]: %w", i, err)
			}
			res.Photos = append(res.Photos, sha)
			if created {
				res.CreatedPhotos++
			}
		}
		for i, t := range e.Templates {
			if t.Person == "" {
				t.Person = e.Person.ID
			}
			if t.Person != e.Person.ID {
				return fmt.Errorf("%w: templates[%d].person: %q is not the enrolled person", ErrInvalid, i, clip(t.Person))
			}
			created, err := g.addTemplate(actor, t)
			if err != nil {
				return fmt.Errorf("templates[%d]: %w", i, err)
			}
			if created {
				res.CreatedTemplates++
			}
		}
		p, err := g.mustPerson(e.Person.ID)
		if err != nil {
			return err
		}
		h, err := g.holder(p)
		if err != nil {
			return err
		}
		if err := g.flush(); err != nil {
			return err
		}
		res.Revision = g.issued[h]
		return nil
	})
	if err != nil {
		return EnrolResult{}, fmt.Errorf("region store: enrol %q: %w", clip(e.Person.ID), err)
	}
	return res, nil
}

func (s *db) AddPhoto(ctx context.Context, actor, person string, jpeg []byte, source string) (sha string, created bool, err error) {
	err = s.galleryTx(ctx, func(g *gtx) error {
		var err error
		sha, created, err = g.addPhoto(actor, person, jpeg, source)
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("region store: add photo of %q: %w", clip(person), err)
	}
	return sha, created, nil
}

func (g *gtx) addPhoto(actor, person string, jpeg []byte, source string) (string, bool, error) {
	var c fieldCheck
	c.token("actor", actor, true, 128)
	if c.err != nil {
		return "", false, c.err
	}
	if err := checkPhoto(jpeg, source); err != nil {
		return "", false, err
	}
	seal, err := g.s.sealer()
	if err != nil {
		return "", false, err
	}
	p, err := g.mustPerson(person)
	if err != nil {
		return "", false, err
	}
	sha := shaHex(jpeg)
	n, err := g.exec(`INSERT INTO gallery_photos (person, sha256, jpeg, source, added_by, added_ns) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (person, sha256) DO NOTHING`, person, sha, seal.Seal(jpeg, photoAD(person, sha)), source, actor, g.now.UnixNano())
	if err != nil {
		return "", false, err
	}
	if n == 0 {
		return sha, false, nil
	}
	h, err := g.holder(p)
	g.upsert(h, person)
	g.audit(actor, "gallery.photo.add", person, fmt.Sprintf("sha256=%s bytes=%d source=%s", sha, len(jpeg), source))
	return sha, true, err
}

func (s *db) AddTemplate(ctx context.Context, actor string, t Template) (created bool, err error) {
	err = s.galleryTx(ctx, func(g *gtx) error {
		var err error
		created, err = g.addTemplate(actor, t)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("region store: add template of %q: %w", clip(t.Person), err)
	}
	return created, nil
}

func (g *gtx) addTemplate(actor string, t Template) (bool, error) {
	var c fieldCheck
	c.token("actor", actor, true, 128)
	if c.err != nil {
		return false, c.err
	}
	if err := checkTemplate(t); err != nil {
		return false, err
	}
	seal, err := g.s.sealer()
	if err != nil {
		return false, err
	}
	p, err := g.mustPerson(t.Person)
	if err != nil {
		return false, err
	}
	var n int
	if err := g.queryRow(`SELECT count(*) FROM gallery_photos WHERE person = ? AND sha256 = ?`, t.Person, t.PhotoSHA256).Scan(&n); err != nil {
		return false, err
	}
	if n == 0 {
		return false, fmt.Errorf("template.photo_sha256: photo %s of person %q: %w", t.PhotoSHA256, t.Person, ErrNotFound)
	}
	dim := len(t.Vec)
	res, err := g.exec(`INSERT INTO gallery_templates (person, photo_sha256, model, vec, dim, quality, source, added_by, added_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (person, photo_sha256, model) DO NOTHING`,
		t.Person, t.PhotoSHA256, t.Model, seal.Seal(encodeVec(t.Vec), templateAD(t.Person, t.PhotoSHA256, t.Model, dim)),
		dim, float64(t.Quality), t.Source, actor, g.now.UnixNano())
	if err != nil || res == 0 {
		return false, err
	}
	h, err := g.holder(p)
	g.upsert(h, t.Person)
	g.audit(actor, "gallery.template.add", t.Person, fmt.Sprintf("photo=%s model=%s dim=%d", t.PhotoSHA256, t.Model, dim))
	return true, err
}

func (s *db) Photo(ctx context.Context, actor, person, sha string) ([]byte, error) {
	var out []byte
	err := s.galleryTx(ctx, func(g *gtx) error {
		var c fieldCheck
		if c.token("actor", actor, true, 128); c.err != nil {
			return c.err
		}
		seal, err := g.s.sealer()
		if err != nil {
			return err
		}
		var sealed []byte
		err = g.queryRow(`SELECT jpeg FROM gallery_photos WHERE person = ? AND sha256 = ?`, person, sha).Scan(&sealed)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if out, err = seal.Open(sealed, photoAD(person, sha)); err != nil {
			return err
		}
		g.audit(actor, "gallery.photo.read", person, "sha256="+sha)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("region store: photo %.12s of %q: %w", sha, clip(person), err)
	}
	return out, nil
}

func (s *db) PersonBiometrics(ctx context.Context, actor, person string) (photos []Photo, templates []Template, err error) {
	err = s.galleryTx(ctx, func(g *gtx) error {
		photos, templates = nil, nil
		var c fieldCheck
		if c.token("actor", actor, true, 128); c.err != nil {
			return c.err
		}
		seal, err := g.s.sealer()
		if err != nil {
			return err
		}
		if _, err := g.mustPerson(person); err != nil {
			return err
		}
		if err := g.scanRows(func(r *sql.Rows) error {
			var p Photo
			var sealed []byte
			var at int64
			if err := r.Scan(&p.SHA256, &sealed, &p.Source, &p.AddedBy, &at); err != nil {
				return err
			}
			p.Person, p.AddedAt = person, fromNanos(at)
			if p.JPEG, err = seal.Open(sealed, photoAD(person, p.SHA256)); err != nil {
				return fmt.Errorf("photo %s: %w", p.SHA256, err)
			}
			photos = append(photos, p)
			return nil
		}, `SELECT sha256, jpeg, source, added_by, added_ns FROM gallery_photos WHERE person = ? ORDER BY added_ns, sha256`, person); err != nil {
			return err
		}
		if err := g.scanRows(func(r *sql.Rows) error {
			t, err := scanTemplate(r, seal)
			templates = append(templates, t)
			return err
		}, `SELECT person, photo_sha256, model, vec, dim, quality, source, added_ns FROM gallery_templates WHERE person = ?
			ORDER BY added_ns, photo_sha256, model`, person); err != nil {
			return err
		}
		g.audit(actor, "gallery.biometrics.read", person, fmt.Sprintf("photos=%d templates=%d", len(photos), len(templates)))
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("region store: biometrics of %q: %w", clip(person), err)
	}
	return photos, templates, nil
}

func (s *db) Templates(ctx context.Context, actor, model string) (out []Template, err error) {
	err = s.galleryTx(ctx, func(g *gtx) error {
		out = nil
		var c fieldCheck
		c.token("actor", actor, true, 128)
		c.token("model", model, true, 128)
		if c.err != nil {
			return c.err
		}
		seal, err := g.s.sealer()
		if err != nil {
			return err
		}
		if err := g.scanRows(func(r *sql.Rows) error {
			t, err := scanTemplate(r, seal)
			out = append(out, t)
			return err
		}, `SELECT person, photo_sha256, model, vec, dim, quality, source, added_ns FROM gallery_templates WHERE model = ?
			ORDER BY person, added_ns, photo_sha256`, model); err != nil {
			return err
		}
		g.audit(actor, "gallery.templates.read", model, fmt.Sprintf("templates=%d", len(out)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("region store: templates of model %q: %w", clip(model), err)
	}
	return out, nil
}

func scanTemplate(r *sql.Rows, seal interface {
	Open(blob, ad []byte) ([]byte, error)
}) (Template, error) {
	var t Template
	var sealed []byte
	var dim int
	var q float64
	var at int64
	if err := r.Scan(&t.Person, &t.PhotoSHA256, &t.Model, &sealed, &dim, &q, &t.Source, &at); err != nil {
		return Template{}, err
	}
	t.Quality, t.AddedAt = float32(q), fromNanos(at)
	raw, err := seal.Open(sealed, templateAD(t.Person, t.PhotoSHA256, t.Model, dim))
	if err != nil {
		return Template{}, fmt.Errorf("template %s/%s/%s: %w", t.Person, t.PhotoSHA256, t.Model, err)
	}
	if len(raw) != 4*dim {
		return Template{}, fmt.Errorf("template %s/%s/%s: %d bytes for %d numbers", t.Person, t.PhotoSHA256, t.Model, len(raw), dim)
	}
	t.Vec = decodeVec(raw)
	return t, nil
}

// scanRows runs a query in the transaction and calls fn for each row.
func (g *gtx) scanRows(fn func(*sql.Rows) error, q string, args ...any) error {
	rows, err := g.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
