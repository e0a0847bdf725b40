package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/dozor-edge/dozor/internal/storekey"
)

// bioBatch is how many person ids one query of SiteBiometrics names: far
// below the bound parameters either database accepts in one statement.
const bioBatch = 500

// PersonBio is a person's profile with their photos (with their bytes)
// and templates, as SiteBiometrics returns them.
type PersonBio struct {
	Person    Person
	Photos    []Photo
	Templates []Template
}

func (s *db) SiteBiometrics(ctx context.Context, actor, site, purpose string, persons []string) (map[string]PersonBio, error) {
	var c fieldCheck
	c.token("actor", actor, true, 128)
	c.site("site", site)
	c.text("purpose", purpose, 256)
	if c.err != nil {
		return nil, fmt.Errorf("region store: biometrics for %q: %w", clip(site), c.err)
	}
	seal, err := s.sealer()
	if err != nil {
		return nil, fmt.Errorf("region store: biometrics for %q: %w", clip(site), err)
	}
	out, photos, templates, err := s.readBiometrics(ctx, seal, persons)
	if err != nil {
		return nil, fmt.Errorf("region store: biometrics for %q: %w", clip(site), err)
	}
	// The data leaves the store only once its audit record is committed.
	detail := fmt.Sprintf("%s: persons=%d photos=%d templates=%d", purpose, len(out), photos, templates)
	if err := s.galleryTx(ctx, func(g *gtx) error {
		g.audit(actor, "gallery.biometrics.read", site, detail)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("region store: biometrics for %q: audit: %w", clip(site), err)
	}
	return out, nil
}

// readBiometrics reads the persons in one read-only transaction, so that
// profiles, photos and templates come from one snapshot, in batches of
// bioBatch ids.
func (s *db) readBiometrics(ctx context.Context, seal *storekey.Sealer, persons []string) (out map[string]PersonBio, photos, templates int, err error) {
	ids := slices.Clone(persons)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, 0, 0, err
	}
	defer tx.Rollback() // read-only: nothing to commit
	out = make(map[string]PersonBio, len(ids))
	for batch := range slices.Chunk(ids, bioBatch) {
		in := "(" + strings.Repeat("?, ", len(batch)-1) + "?)"
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		scan := func(fn func(*sql.Rows) error, q string) error {
			rows, err := tx.QueryContext(ctx, s.d.bind(q), args...)
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
		if err := scan(func(r *sql.Rows) error {
			p, err := scanPerson(r)
			out[p.ID] = PersonBio{Person: p}
			return err
		}, `SELECT `+personCols+` FROM gallery_persons p WHERE p.id IN `+in); err != nil {
			return nil, 0, 0, fmt.Errorf("persons: %w", err)
		}
		if err := scan(func(r *sql.Rows) error {
			var p Photo
			var sealed []byte
			var at int64
			if err := r.Scan(&p.Person, &p.SHA256, &sealed, &p.Source, &p.AddedBy, &at); err != nil {
				return err
			}
			p.AddedAt = fromNanos(at)
			var err error
			if p.JPEG, err = seal.Open(sealed, photoAD(p.Person, p.SHA256)); err != nil {
				return fmt.Errorf("photo %s of %s: %w", p.SHA256, p.Person, err)
			}
			b, ok := out[p.Person]
			if !ok {
				return nil // not in one snapshot, where a photo's person exists
			}
			b.Photos = append(b.Photos, p)
			out[p.Person] = b
			photos++
			return nil
		}, `SELECT person, sha256, jpeg, source, added_by, added_ns FROM gallery_photos WHERE person IN `+in+`
			ORDER BY person, added_ns, sha256`); err != nil {
			return nil, 0, 0, fmt.Errorf("photos: %w", err)
		}
		if err := scan(func(r *sql.Rows) error {
			t, err := scanTemplate(r, seal)
			if err != nil {
				return err
			}
			b, ok := out[t.Person]
			if !ok {
				return nil
			}
			b.Templates = append(b.Templates, t)
			out[t.Person] = b
			templates++
			return nil
		}, `SELECT person, photo_sha256, model, vec, dim, quality, source, added_ns FROM gallery_templates WHERE person IN `+in+`
			ORDER BY person, added_ns, photo_sha256, model`); err != nil {
			return nil, 0, 0, fmt.Errorf("templates: %w", err)
		}
	}
	return out, photos, templates, nil
}
