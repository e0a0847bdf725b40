package wire

import "time"

// Gallery revision outcomes at a site.
const (
	GalleryApplied = "applied"
	GalleryFailed  = "failed"
)

// GalleryAck is a site's answer to a gallery revision from the region:
// applied (and how many templates the site now holds) or failed, and why.
type GalleryAck struct {
	Seq      uint64    `json:"seq"`
	Site     string    `json:"site"`
	Revision uint64    `json:"revision"`
	Status   string    `json:"status"`
	At       time.Time `json:"at"`
	// Templates is the number of templates after applying.
	Templates int `json:"templates,omitempty"`
	// Reason is required when Status is GalleryFailed.
	Reason string `json:"reason,omitempty"`
}

// TopicKind implements Payload.
func (GalleryAck) TopicKind() Kind { return KindGalleryAck }

// MarshalJSON writes the payload with its "v" field.
func (g GalleryAck) MarshalJSON() ([]byte, error) {
	type plain GalleryAck
	return withVersion(plain(g))
}

// Validate implements Payload.
func (g GalleryAck) Validate() error { return g.check(time.Time{}) }

func (g GalleryAck) check(now time.Time) error {
	c := checker{payload: "gallery-ack", now: now}
	c.seq("seq", g.Seq)
	c.segment("site", g.Site)
	switch {
	case g.Revision == 0:
		c.fail("revision", "missing (revisions start at 1)")
	case g.Revision > MaxSeq:
		c.fail("revision", "%d exceeds 2^53-1", g.Revision)
	}
	c.oneOf("status", g.Status, GalleryApplied, GalleryFailed)
	c.time("at", g.At, true)
	c.count("templates", g.Templates, 10_000_000)
	switch {
	case g.Status == GalleryFailed && g.Reason == "":
		c.fail("reason", "missing; required when status is %s", GalleryFailed)
	case g.Status == GalleryApplied && g.Reason != "":
		c.fail("reason", "set although status is %s", GalleryApplied)
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
	if err := g.check(now); err != nil {
		return GalleryAck{}, err
	}
	return g, nil
}
