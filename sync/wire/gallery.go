package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"time"
)

// Gallery revision outcomes at a site.
const (
	// GalleryApplied: the site applied Revision and runs it (InForce ==
	// Revision).
	GalleryApplied = "applied"
	// GalleryFailed: the site refused Revision (Reason says why) and still
	// runs InForce.
	GalleryFailed = "failed"
	// GalleryResync: the site runs InForce and asks for what follows it
	// (Revision == InForce). A site sends it when it sees a gap, after
	// refusing a revision, and once after each connect.
	GalleryResync = "resync"
)

// GalleryAck is a site's answer to the region's gallery revisions: applied
// (and how many templates the site now holds), failed and why, or a resync
// request. InForce is always the revision the site runs after the ack, 0
// for none.
//
// Compatibility: an applied ack written before in_force existed has none;
// DecodeGalleryAck reads a missing (or 0) in_force of an applied ack as
// equal to Revision, Validate accepts InForce 0 on an applied ack for the
// same reason, and MarshalJSON then writes in_force as Revision. So
// InForce == Revision holds for every applied ack a reader sees.
type GalleryAck struct {
	Seq      uint64    `json:"seq"`
	Site     string    `json:"site"`
	Revision uint64    `json:"revision"`
	InForce  uint64    `json:"in_force"`
	Status   string    `json:"status"`
	At       time.Time `json:"at"`
	// Templates is the number of templates after applying.
	Templates int `json:"templates,omitempty"`
	// Reason is required when Status is GalleryFailed, optional for
	// GalleryResync and absent for GalleryApplied.
	Reason string `json:"reason,omitempty"`
}

// TopicKind implements Payload.
func (GalleryAck) TopicKind() Kind { return KindGalleryAck }

// MarshalJSON writes the payload with its "v" field.
func (g GalleryAck) MarshalJSON() ([]byte, error) {
	type plain GalleryAck
	return withVersion(plain(g.normalised()))
}

// normalised fills in InForce of an applied ack that lacks it.
func (g GalleryAck) normalised() GalleryAck {
	if g.Status == GalleryApplied && g.InForce == 0 {
		g.InForce = g.Revision
	}
	return g
}

// Validate implements Payload.
func (g GalleryAck) Validate() error { return g.normalised().check(time.Time{}) }

func (g GalleryAck) check(now time.Time) error {
	c := checker{payload: "gallery-ack", now: now}
	c.seq("seq", g.Seq)
	c.segment("site", g.Site)
	switch {
	case g.Revision == 0 && g.Status != GalleryResync:
		c.fail("revision", "missing (revisions start at 1)")
	case g.Revision > MaxSeq:
		c.fail("revision", "%d exceeds 2^53-1", g.Revision)
	}
	if g.InForce > MaxSeq {
		c.fail("in_force", "%d exceeds 2^53-1", g.InForce)
	}
	c.oneOf("status", g.Status, GalleryApplied, GalleryFailed, GalleryResync)
	c.time("at", g.At, true)
	c.count("templates", g.Templates, 10_000_000)
	switch {
	case g.Status == GalleryFailed && g.Reason == "":
		c.fail("reason", "missing; required when status is %s", GalleryFailed)
	case g.Status == GalleryApplied && g.Reason != "":
		c.fail("reason", "set although status is %s", GalleryApplied)
	case (g.Status == GalleryApplied || g.Status == GalleryResync) && g.InForce != g.Revision:
		c.fail("in_force", "%d differs from revision %d; status %s means the site runs revision", g.InForce, g.Revision, g.Status)
	}
	c.text("reason", g.Reason, 512)
	return c.err
}

// DecodeGalleryAck reads a gallery acknowledgement; see DecodeSighting for
// now.
func DecodeGalleryAck(data []byte, now time.Time) (GalleryAck, error) {
	var g GalleryAck
	if err := decode("gallery-ack", data, &g); err != nil {
		return GalleryAck{}, err
	}
	g = g.normalised()
	if err := g.check(now); err != nil {
		return GalleryAck{}, err
	}
	return g, nil
}

// Limits of a GalleryEnrolment. The message travels whole through the
// site's outbox and the broker (whose default largest message is 1 MiB),
// so its photo is bounded well below that: a larger photo is scaled down
// before it is sent.
const (
	// MaxEnrolmentLen bounds a whole gallery/enrol message: the largest
	// photo in base64 plus the largest templates as JSON numbers fit.
	MaxEnrolmentLen = 960 << 10
	// MaxEnrolPhotoLen bounds the enrolment photo, counted in JPEG bytes.
	MaxEnrolPhotoLen = 512 << 10
	// MaxEnrolTemplates bounds the templates sent with one photo.
	MaxEnrolTemplates = 4
	// MaxTemplateDim bounds a template vector's length.
	MaxTemplateDim = 4096
	// MaxPersonLabels bounds a person's categories and watch lists.
	MaxPersonLabels = 64
)

// MaxPayloadLenOf is the largest payload of kind k: MaxEnrolmentLen for
// enrolments, MaxPayloadLen for everything else.
func MaxPayloadLenOf(k Kind) int {
	if k == KindGalleryEnrol {
		return MaxEnrolmentLen
	}
	return MaxPayloadLen
}

// GalleryEnrolment is one photo of a person enrolled at a site, with the
// templates the site made of it, sent up so that the region merges it into
// the master gallery. A site sends one message per enrolled photo. The
// region keeps its own profile of a person it already knows and adds the
// photo and templates it lacks.
type GalleryEnrolment struct {
	Seq  uint64 `json:"seq"`
	Site string `json:"site"`
	// ID names this enrolment message.
	ID ID        `json:"id"`
	At time.Time `json:"at"`
	// By is the account at the site that enrolled the person.
	By        string             `json:"by"`
	Person    EnrolledPerson     `json:"person"`
	Photo     EnrolledPhoto      `json:"photo"`
	Templates []EnrolledTemplate `json:"templates,omitempty"`
}

// EnrolledPerson is the site's profile of the person.
type EnrolledPerson struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"display_name"`
	Categories  []string `json:"categories,omitempty"`
	WatchLists  []string `json:"watch_lists,omitempty"`
}

// EnrolledPhoto is the enrolment photo: a JPEG of at most MaxEnrolPhotoLen
// bytes (base64 in JSON) and its SHA-256 in lower-case hex.
type EnrolledPhoto struct {
	SHA256 string `json:"sha256"`
	JPEG   []byte `json:"jpeg"`
	// Source says where the photo came from at the site (an upload, an
	// import, a camera).
	Source string `json:"source,omitempty"`
}

// EnrolledTemplate is one face template made of the photo: the model that
// made it, its vector (1 to MaxTemplateDim finite numbers) and the face's
// quality in [0, 1].
type EnrolledTemplate struct {
	Model   string    `json:"model"`
	Vec     []float32 `json:"vec"`
	Quality float32   `json:"quality"`
}

// TopicKind implements Payload.
func (GalleryEnrolment) TopicKind() Kind { return KindGalleryEnrol }

// MarshalJSON writes the payload with its "v" field.
func (e GalleryEnrolment) MarshalJSON() ([]byte, error) {
	type plain GalleryEnrolment
	return withVersion(plain(e))
}

// Validate implements Payload.
func (e GalleryEnrolment) Validate() error { return e.check(time.Time{}) }

func (e GalleryEnrolment) check(now time.Time) error {
	c := checker{payload: "gallery-enrol", now: now}
	c.seq("seq", e.Seq)
	c.segment("site", e.Site)
	c.id("id", e.ID)
	c.time("at", e.At, true)
	c.token("by", e.By, true, 128)
	c.token("person.id", e.Person.ID, true, 128)
	c.token("person.display_name", e.Person.DisplayName, true, 256)
	c.labels("person.categories", e.Person.Categories)
	c.labels("person.watch_lists", e.Person.WatchLists)
	c.photo("photo", e.Photo)
	if len(e.Templates) > MaxEnrolTemplates {
		c.fail("templates", "%d entries, more than %d", len(e.Templates), MaxEnrolTemplates)
	}
	for i, t := range e.Templates {
		f := fmt.Sprintf("templates[%d]", i)
		c.token(f+".model", t.Model, true, 128)
		c.vector(f+".vec", t.Vec)
		c.float(f+".quality", float64(t.Quality), 0, 1)
		for j := range i {
			if e.Templates[j].Model == t.Model {
				c.fail(f+".model", "%q repeats templates[%d]; one template per model and photo", clip(t.Model), j)
			}
		}
	}
	return c.err
}

// DecodeGalleryEnrolment reads a site's enrolment; see DecodeSighting for
// now. Its size limit is MaxEnrolmentLen.
func DecodeGalleryEnrolment(data []byte, now time.Time) (GalleryEnrolment, error) {
	var e GalleryEnrolment
	if err := decodeLimit("gallery-enrol", data, &e, MaxEnrolmentLen); err != nil {
		return GalleryEnrolment{}, err
	}
	if err := e.check(now); err != nil {
		return GalleryEnrolment{}, err
	}
	return e, nil
}

// labels checks a list of categories or watch lists: tokens, none
// repeated, at most MaxPersonLabels.
func (c *checker) labels(field string, l []string) {
	if len(l) > MaxPersonLabels {
		c.fail(field, "%d entries, more than %d", len(l), MaxPersonLabels)
		return
	}
	for i, s := range l {
		f := fmt.Sprintf("%s[%d]", field, i)
		c.token(f, s, true, 128)
		for j := range i {
			if l[j] == s {
				c.fail(f, "%q appears twice", clip(s))
			}
		}
	}
}

// photo checks an enrolment photo: a JPEG within the limit whose SHA-256
// is the one given.
func (c *checker) photo(field string, p EnrolledPhoto) {
	switch {
	case len(p.JPEG) == 0:
		c.fail(field+".jpeg", "missing")
	case len(p.JPEG) > MaxEnrolPhotoLen:
		if c.err == nil {
			c.err = &FieldError{Payload: c.payload, Field: field + ".jpeg", Reason: fmt.Sprintf("%d bytes, larger than %d", len(p.JPEG), MaxEnrolPhotoLen), Err: ErrTooLarge}
		}
	case len(p.JPEG) < 4 || !bytes.HasPrefix(p.JPEG, []byte{0xFF, 0xD8, 0xFF}):
		c.fail(field+".jpeg", "not a JPEG (no FF D8 FF start-of-image marker)")
	}
	before := c.err
	c.sha256(field+".sha256", p.SHA256)
	if c.err == before && len(p.JPEG) > 0 {
		sum := sha256.Sum256(p.JPEG)
		if hex.EncodeToString(sum[:]) != p.SHA256 {
			c.fail(field+".sha256", "does not match the JPEG bytes (their SHA-256 is %x)", sum)
		}
	}
	c.token(field+".source", p.Source, false, 128)
}

// vector checks a template vector: 1 to MaxTemplateDim finite numbers.
func (c *checker) vector(field string, v []float32) {
	switch {
	case len(v) == 0:
		c.fail(field, "missing")
		return
	case len(v) > MaxTemplateDim:
		c.fail(field, "%d numbers, more than %d", len(v), MaxTemplateDim)
		return
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			c.fail(field, "element %d is not a finite number", i)
			return
		}
	}
}
