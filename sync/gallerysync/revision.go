package gallerysync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/dozor-edge/dozor/sync/wire"
)

// Person statuses in a revision.
const (
	StatusActive    = "active"
	StatusInTransit = "in_transit"
)

// Limits of one revision's content, checked by Validate.
const (
	MaxPersons            = 1_000_000
	MaxPhotosPerPerson    = 64
	MaxTemplatesPerPerson = 256
	MaxPhotoBytes         = 8 << 20
	MaxTemplateDim        = wire.MaxTemplateDim
	MaxLabels             = wire.MaxPersonLabels
	MaxIDLen              = 128
	MaxDisplayNameLen     = 256
)

// Revision is one numbered change of a site's region-managed gallery. A
// delta (Full false) follows revision Base == Number-1; a full revision
// (Base 0) is the complete set of the region's persons for the site as of
// Number, and a site removes the region's persons it does not list.
type Revision struct {
	Region string
	Site   string
	// Number is 1 or more, counted per site.
	Number uint64
	// Base is Number-1 for a delta and 0 for a full revision.
	Base   uint64
	Full   bool
	Issued time.Time
	// Upserts are persons to add or replace: profile and the biometrics
	// listed.
	Upserts []Person
	// Removals are ids of persons to remove, profile and biometrics.
	Removals []string
}

// Person is a person as the region manages them.
type Person struct {
	ID          string
	DisplayName string
	// Status is StatusActive or StatusInTransit.
	Status     string
	Categories []string
	WatchLists []string
	Photos     []Photo
	Templates  []Template
}

// Photo is an enrolment photo: JPEG bytes and their SHA-256 in lower-case
// hex.
type Photo struct {
	SHA256 string
	JPEG   []byte
	Source string
}

// Template is a face template of one of the person's photos.
type Template struct {
	Model       string
	Vec         []float32
	Quality     float32
	PhotoSHA256 string
}

// Validate checks the revision's numbers and every person: ids, no
// person twice, photos whose SHA-256 matches their bytes, finite vectors,
// each template's photo present in the same person, and the limits above.
// An error names the field ("upserts[3].templates[1].vec").
func (r Revision) Validate() error {
	c := &checker{}
	c.segment("region", r.Region)
	c.segment("site", r.Site)
	switch {
	case r.Number == 0:
		c.fail("number", "missing (revisions start at 1)")
	case r.Number > wire.MaxSeq:
		c.fail("number", "%d exceeds 2^53-1", r.Number)
	case r.Full && r.Base != 0:
		c.fail("base", "%d; a full revision has base 0", r.Base)
	case !r.Full && r.Base != r.Number-1:
		c.fail("base", "%d; a delta to revision %d has base %d", r.Base, r.Number, r.Number-1)
	}
	if r.Issued.IsZero() {
		c.fail("issued", "missing")
	} else if r.Issued.Before(wire.Epoch) {
		c.fail("issued", "%s is before %s", r.Issued.UTC().Format(time.RFC3339), wire.Epoch.Format("2006-01-02"))
	}
	if len(r.Upserts) > MaxPersons {
		c.fail("upserts", "%d persons, more than %d", len(r.Upserts), MaxPersons)
	}
	if len(r.Removals) > MaxPersons {
		c.fail("removals", "%d ids, more than %d", len(r.Removals), MaxPersons)
	}
	if r.Full && len(r.Removals) > 0 {
		c.fail("removals", "%d ids in a full revision, which removes by leaving out", len(r.Removals))
	}
	seen := make(map[string]string, len(r.Upserts)+len(r.Removals))
	for i, p := range r.Upserts {
		f := fmt.Sprintf("upserts[%d]", i)
		p.check(c, f)
		if prev, dup := seen[p.ID]; dup && c.err == nil {
			c.fail(f+".id", "%q also in %s", clip(p.ID), prev)
		}
		seen[p.ID] = f
	}
	for i, id := range r.Removals {
		f := fmt.Sprintf("removals[%d]", i)
		c.token(f, id, true, MaxIDLen)
		if prev, dup := seen[id]; dup && c.err == nil {
			c.fail(f, "%q also in %s", clip(id), prev)
		}
		seen[id] = f
	}
	return c.err
}

func (p Person) check(c *checker, f string) {
	if c.err != nil {
		return
	}
	c.token(f+".id", p.ID, true, MaxIDLen)
	c.token(f+".display_name", p.DisplayName, true, MaxDisplayNameLen)
	if p.Status != StatusActive && p.Status != StatusInTransit {
		c.fail(f+".status", "%q is not one of %s, %s", clip(p.Status), StatusActive, StatusInTransit)
	}
	c.labels(f+".categories", p.Categories)
	c.labels(f+".watch_lists", p.WatchLists)
	if len(p.Photos) > MaxPhotosPerPerson {
		c.fail(f+".photos", "%d photos, more than %d", len(p.Photos), MaxPhotosPerPerson)
	}
	if len(p.Templates) > MaxTemplatesPerPerson {
		c.fail(f+".templates", "%d templates, more than %d", len(p.Templates), MaxTemplatesPerPerson)
	}
	if c.err != nil {
		return
	}
	photos := make(map[string]int, len(p.Photos))
	for i, ph := range p.Photos {
		pf := fmt.Sprintf("%s.photos[%d]", f, i)
		switch {
		case len(ph.JPEG) == 0:
			c.fail(pf+".jpeg", "missing")
		case len(ph.JPEG) > MaxPhotoBytes:
			c.fail(pf+".jpeg", "%d bytes, more than %d", len(ph.JPEG), MaxPhotoBytes)
		case len(ph.JPEG) < 4 || ph.JPEG[0] != 0xFF || ph.JPEG[1] != 0xD8 || ph.JPEG[2] != 0xFF:
			c.fail(pf+".jpeg", "not a JPEG (no FF D8 FF start-of-image marker)")
		}
		if c.err != nil {
			return
		}
		sum := sha256.Sum256(ph.JPEG)
		if got := hex.EncodeToString(sum[:]); ph.SHA256 != got {
			c.fail(pf+".sha256", "%q is not the SHA-256 of the JPEG bytes (%s)", clip(ph.SHA256), got)
		}
		if j, dup := photos[ph.SHA256]; dup {
			c.fail(pf+".sha256", "repeats photos[%d]", j)
		}
		photos[ph.SHA256] = i
		c.token(pf+".source", ph.Source, false, MaxIDLen)
	}
	type key struct{ sha, model string }
	tmpls := make(map[key]int, len(p.Templates))
	for i, t := range p.Templates {
		tf := fmt.Sprintf("%s.templates[%d]", f, i)
		c.token(tf+".model", t.Model, true, MaxIDLen)
		switch {
		case len(t.Vec) == 0:
			c.fail(tf+".vec", "missing")
		case len(t.Vec) > MaxTemplateDim:
			c.fail(tf+".vec", "%d numbers, more than %d", len(t.Vec), MaxTemplateDim)
		}
		for j, x := range t.Vec {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				c.fail(tf+".vec", "element %d is not a finite number", j)
				break
			}
		}
		if q := float64(t.Quality); math.IsNaN(q) || q < 0 || q > 1 {
			c.fail(tf+".quality", "%g is outside [0, 1]", q)
		}
		if _, ok := photos[t.PhotoSHA256]; !ok {
			c.fail(tf+".photo_sha256", "%q is not one of the person's photos", clip(t.PhotoSHA256))
		}
		k := key{t.PhotoSHA256, t.Model}
		if j, dup := tmpls[k]; dup {
			c.fail(tf, "repeats templates[%d] (same photo and model)", j)
		}
		tmpls[k] = i
		if c.err != nil {
			return
		}
	}
}

// ValidationError is Validate's error: the field and what is wrong.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return "revision: " + e.Field + ": " + e.Reason }

// checker keeps the first problem found.
type checker struct{ err error }

func (c *checker) fail(field, format string, a ...any) {
	if c.err == nil {
		c.err = &ValidationError{Field: field, Reason: fmt.Sprintf(format, a...)}
	}
}

func (c *checker) segment(field, s string) {
	if err := wire.ValidateSegment(s); err != nil {
		c.fail(field, "%v", err)
	}
}

// token checks an identifier or a name (wire.ValidateToken).
func (c *checker) token(field, s string, required bool, max int) {
	if s == "" {
		if required {
			c.fail(field, "missing")
		}
		return
	}
	if err := wire.ValidateToken(s, max); err != nil {
		c.fail(field, "%v", err)
	}
}

func (c *checker) labels(field string, l []string) {
	if len(l) > MaxLabels {
		c.fail(field, "%d entries, more than %d", len(l), MaxLabels)
		return
	}
	for i, s := range l {
		f := fmt.Sprintf("%s[%d]", field, i)
		c.token(f, s, true, MaxIDLen)
		for j := range i {
			if l[j] == s {
				c.fail(f, "%q appears twice", clip(s))
			}
		}
	}
}

func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
