package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dozor-edge/dozor/internal/sqlite"
)

func TestSiteBiometricsSQLite(t *testing.T)   { testSiteBiometrics(t, newSQLiteEnv) }
func TestSiteBiometricsPostgres(t *testing.T) { testSiteBiometrics(t, newPostgresEnv) }

// testSiteBiometrics reads persons in bulk across several batches: known
// ones with every photo and template, unknown and removed ones absent,
// one audit record for the whole read.
func testSiteBiometrics(t *testing.T, newEnv func(*testing.T) *galleryEnv) {
	ctx := context.Background()
	s := newEnv(t).store()
	enrolPerson(t, s, "P-1", siteA)
	enrolPerson(t, s, "P-2", siteA)
	enrolPerson(t, s, "P-3", siteA)
	second := jpeg("second photo of P-2")
	_, err := s.Enrol(ctx, boss, Enrolment{
		Person:    Person{ID: "P-2", DisplayName: "Name P-2", Categories: []string{"inmate"}, Facility: siteA},
		Photos:    []NewPhoto{{JPEG: second, Source: "visit"}},
		Templates: []Template{{PhotoSHA256: shaHex(second), Model: "arcface", Vec: vec(2, 8), Quality: 0.8, Source: "region"}},
	})
	must(t, err)
	must(t, s.RemovePerson(ctx, boss, "P-3"))

	// Unknown ids sort before the persons: they fill the first batches.
	var ids []string
	for i := range 2*bioBatch + 10 {
		ids = append(ids, fmt.Sprintf("A-%05d", i))
	}
	ids = append(ids, "P-2", "P-1", "P-3", "P-1")
	got, err := s.SiteBiometrics(ctx, "gallery-sync", siteA, "revision 7 (full)", ids)
	must(t, err)
	if keys := slices.Sorted(func(yield func(string) bool) {
		for k := range got {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(keys, []string{"P-1", "P-2"}) {
		t.Fatalf("persons read: %v, want P-1 and P-2", keys)
	}
	p1, p2 := got["P-1"], got["P-2"]
	if p1.Person.DisplayName != "Name P-1" || p1.Person.Facility != siteA || !slices.Equal(p1.Person.Categories, []string{"inmate"}) ||
		len(p1.Photos) != 1 || !bytes.Equal(p1.Photos[0].JPEG, jpeg("photo of P-1")) || p1.Photos[0].Person != "P-1" ||
		len(p1.Templates) != 1 || !slices.Equal(p1.Templates[0].Vec, vec(1, 8)) || p1.Templates[0].PhotoSHA256 != p1.Photos[0].SHA256 {
		t.Errorf("P-1: %+v", p1)
	}
	// Both photos were added at the same instant: ordered by sha256.
	if len(p2.Photos) != 2 || !bytes.Equal(p2.Photos[0].JPEG, second) || p2.Photos[0].Source != "visit" ||
		len(p2.Templates) != 2 || !slices.Equal(p2.Templates[0].Vec, vec(2, 8)) || p2.Person.Photos != 2 {
		t.Errorf("P-2: %d photos, %d templates: %+v", len(p2.Photos), len(p2.Templates), p2)
	}
	// The same data as the per-person read.
	photos, templates, err := s.PersonBiometrics(ctx, "gallery-sync", "P-2")
	must(t, err)
	if !slices.EqualFunc(photos, p2.Photos, func(a, b Photo) bool { return a.SHA256 == b.SHA256 && bytes.Equal(a.JPEG, b.JPEG) }) ||
		!slices.EqualFunc(templates, p2.Templates, func(a, b Template) bool { return slices.Equal(a.Vec, b.Vec) }) {
		t.Errorf("bulk read of P-2 differs from PersonBiometrics")
	}

	audits, err := s.AuditLog(ctx, AuditQuery{Actor: "gallery-sync", Action: "gallery.biometrics.read"})
	must(t, err)
	if len(audits) != 2 || audits[1].Object != siteA || audits[1].Detail != "revision 7 (full): persons=2 photos=3 templates=3" {
		t.Fatalf("audit of the bulk read: %+v", audits)
	}

	none, err := s.SiteBiometrics(ctx, "gallery-sync", siteA, "revision 8", nil)
	must(t, err)
	if len(none) != 0 {
		t.Errorf("no ids read %d persons", len(none))
	}
	for name, c := range map[string]struct{ actor, site, purpose, field string }{
		"no actor":    {"", siteA, "r", "actor"},
		"bad site":    {"gallery-sync", "a/b", "r", "site"},
		"bad purpose": {"gallery-sync", siteA, "r\x00", "purpose"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.SiteBiometrics(ctx, c.actor, c.site, c.purpose, []string{"P-1"})
			wantErr(t, err, ErrInvalid, c.field)
		})
	}
}

// TestSiteBiometricsNeedsKey: without the store key nothing is read.
func TestSiteBiometricsNeedsKey(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "region.db"), Options{SQLite: sqlite.Binding{}})
	must(t, err)
	defer s.Close()
	_, err = s.SiteBiometrics(context.Background(), "gallery-sync", siteA, "revision 1", []string{"P-1"})
	wantErr(t, err, ErrNoKey)
}
