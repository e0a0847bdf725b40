package gallerysync

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/dozor-edge/dozor/sync/wire"
)

// Refusal reasons: the Reason of a *Refusal, short words fit for a
// metric label and an audit record.
const (
	ReasonMalformed    = "malformed"     // not a chunk message: framing, header JSON, fields, numbers
	ReasonUnsigned     = "unsigned"      // no signature, or no region key to check one with
	ReasonBadSignature = "bad_signature" // signed by another key, or the header was altered
	ReasonWrongSite    = "wrong_site"    // for another region or site
	ReasonTruncated    = "truncated"     // a chunk's data shorter than its share of the body
	ReasonOversized    = "oversized"     // a chunk, body or chunk count over the limits
	ReasonBodyMismatch = "body_mismatch" // the assembled body does not hash to the signed SHA-256
	ReasonBadBody      = "bad_body"      // a signed body that does not decode or validate
	ReasonReplayed     = "replayed"      // a revision at or below the one in force
	ReasonOutOfOrder   = "out_of_order"  // a delta that does not follow the revision in force
)

// Refusal is why a chunk or a revision was refused. Revision is the
// revision number the chunk claimed, 0 when it could not be read.
type Refusal struct {
	Reason   string
	Revision uint64
	Text     string
}

func (r *Refusal) Error() string {
	if r.Revision == 0 {
		return "gallery revision refused (" + r.Reason + "): " + r.Text
	}
	return fmt.Sprintf("gallery revision %d refused (%s): %s", r.Revision, r.Reason, r.Text)
}

func refuse(reason string, rev uint64, format string, a ...any) *Refusal {
	return &Refusal{Reason: reason, Revision: rev, Text: fmt.Sprintf(format, a...)}
}

// CheckOrder says whether a site running revision inForce (0: none) may
// apply r: a *Refusal with ReasonReplayed when r is not newer, with
// ReasonOutOfOrder when r is a delta that does not start from inForce. A
// full revision newer than inForce always follows.
func CheckOrder(inForce uint64, r Revision) error {
	switch {
	case r.Number <= inForce:
		return refuse(ReasonReplayed, r.Number, "revision %d is not newer than revision %d in force", r.Number, inForce)
	case !r.Full && r.Base != inForce:
		return refuse(ReasonOutOfOrder, r.Number, "delta from revision %d, but revision %d is in force", r.Base, inForce)
	}
	return nil
}

// Assembler collects one site's revision chunks and returns each
// revision once it is complete and checked. It keeps one revision in
// progress: a valid chunk of another revision (or another body of the
// same number) starts over with it. Chunks may arrive in any order and
// more than once. It is not safe for concurrent use.
type Assembler struct {
	region, site string
	pub          ed25519.PublicKey
	fp           string
	lim          Limits
	cur          *progress
}

type progress struct {
	h     header
	sig   []byte
	parts [][]byte
	have  int
}

// NewAssembler returns an Assembler for the revisions of region/site
// signed by pub. With no pub (a site configured without the region's
// key) every chunk is refused as unsigned. Zero fields of limits take
// their defaults.
func NewAssembler(region, site string, pub ed25519.PublicKey, limits Limits) *Assembler {
	a := &Assembler{region: region, site: site, lim: limits.withDefaults()}
	if len(pub) == ed25519.PublicKeySize {
		a.pub = pub
		a.fp = Fingerprint(pub)
	}
	return a
}

// Pending reports the revision in progress and how many of its chunks
// have arrived; all zero when none is.
func (a *Assembler) Pending() (revision uint64, have, chunks int) {
	if a.cur == nil {
		return 0, 0, 0
	}
	return a.cur.h.Revision, a.cur.have, a.cur.h.Chunks
}

// Add takes one chunk message. It returns nil, nil while the revision is
// incomplete; the revision once its last chunk arrived and the signature,
// the body's hash and the body all check; or a *Refusal. A refused chunk
// leaves the revision in progress as it was, except that a complete
// revision that fails its checks is dropped whole. Add does not check the
// order against the revision in force: see CheckOrder.
func (a *Assembler) Add(msg []byte) (*Revision, error) {
	if len(msg) > a.lim.MaxChunkBytes {
		return nil, refuse(ReasonOversized, 0, "chunk message of %d bytes, more than %d", len(msg), a.lim.MaxChunkBytes)
	}
	e, data, err := unframe(msg)
	if err != nil {
		return nil, refuse(ReasonMalformed, 0, "%v", err)
	}
	h := e.header()
	if err := a.checkHeader(e); err != nil {
		return nil, err
	}
	if !ed25519.Verify(a.pub, h.canonical(), e.Sig) {
		return nil, refuse(ReasonBadSignature, h.Revision, "the signature does not verify with this site's region key %s", a.fp)
	}
	switch want := h.chunkLen(e.Chunk); {
	case int64(len(data)) < want:
		return nil, refuse(ReasonTruncated, h.Revision, "chunk %d of %d has %d bytes of data, want %d", e.Chunk, h.Chunks, len(data), want)
	case int64(len(data)) > want:
		return nil, refuse(ReasonOversized, h.Revision, "chunk %d of %d has %d bytes of data, want %d", e.Chunk, h.Chunks, len(data), want)
	}

	if a.cur == nil || a.cur.h != h {
		a.cur = &progress{h: h, sig: e.Sig, parts: make([][]byte, h.Chunks)}
	}
	if a.cur.parts[e.Chunk] != nil {
		return nil, nil // a repeat: QoS 1 delivers at least once
	}
	// A copy, so that the caller may reuse its buffer.
	a.cur.parts[e.Chunk] = bytes.Clone(data)
	a.cur.have++
	if a.cur.have < h.Chunks {
		return nil, nil
	}
	p := a.cur
	a.cur = nil
	body := bytes.Join(p.parts, nil)
	sum := sha256.Sum256(body)
	if got := hex.EncodeToString(sum[:]); got != h.BodySHA256 {
		return nil, refuse(ReasonBodyMismatch, h.Revision, "the %d chunks hash to %s, the signed body_sha256 is %s", h.Chunks, got, h.BodySHA256)
	}
	rev, err := decodeBody(body, h, a.lim.MaxJSONBytes)
	if err != nil {
		return nil, refuse(ReasonBadBody, h.Revision, "body: %v", err)
	}
	return rev, nil
}

// checkHeader checks everything of a chunk that needs no key: form,
// addressee, signature present, limits.
func (a *Assembler) checkHeader(e envelope) error {
	rev := e.Revision
	switch {
	case e.Revision == 0 || e.Revision > wire.MaxSeq:
		return refuse(ReasonMalformed, rev, "revision: %d, want 1 to 2^53-1", e.Revision)
	case e.Full && e.Base != 0:
		return refuse(ReasonMalformed, rev, "base: %d in a full revision", e.Base)
	case !e.Full && e.Base != e.Revision-1:
		return refuse(ReasonMalformed, rev, "base: %d for a delta to revision %d", e.Base, e.Revision)
	}
	if _, err := parseCanonicalTime(e.Issued); err != nil {
		return refuse(ReasonMalformed, rev, "%v", err)
	}
	if len(e.BodySHA256) != 64 {
		return refuse(ReasonMalformed, rev, "body_sha256: want 64 lower-case hex digits")
	}
	if _, err := hex.DecodeString(e.BodySHA256); err != nil || e.BodySHA256 != strings.ToLower(e.BodySHA256) {
		return refuse(ReasonMalformed, rev, "body_sha256: want 64 lower-case hex digits")
	}
	if len(e.Sig) == 0 {
		return refuse(ReasonUnsigned, rev, "the chunk carries no signature")
	}
	if a.pub == nil {
		return refuse(ReasonUnsigned, rev, "no region key configured: this site cannot check the signature of key %s", clip(e.Key))
	}
	if e.Region != a.region || e.Site != a.site {
		return refuse(ReasonWrongSite, rev, "for %s/%s, this is %s/%s", clip(e.Region), clip(e.Site), a.region, a.site)
	}
	switch {
	case e.Chunks < 1:
		return refuse(ReasonMalformed, rev, "chunks: %d, want at least 1", e.Chunks)
	case e.Chunks > a.lim.MaxChunks:
		return refuse(ReasonOversized, rev, "%d chunks, more than %d", e.Chunks, a.lim.MaxChunks)
	case e.Chunk < 0 || e.Chunk >= e.Chunks:
		return refuse(ReasonMalformed, rev, "chunk: %d, want 0 to %d", e.Chunk, e.Chunks-1)
	case e.BodySize < int64(e.Chunks):
		return refuse(ReasonMalformed, rev, "body_size: %d bytes in %d chunks", e.BodySize, e.Chunks)
	case e.BodySize > a.lim.MaxBodyBytes:
		return refuse(ReasonOversized, rev, "body of %d bytes, more than %d", e.BodySize, a.lim.MaxBodyBytes)
	}
	if h := e.header(); h.chunkLen(h.Chunks-1) < 1 {
		return refuse(ReasonMalformed, rev, "body_size: %d bytes cannot fill %d chunks", e.BodySize, e.Chunks)
	}
	if len(e.Sig) != ed25519.SignatureSize {
		return refuse(ReasonBadSignature, rev, "signature of %d bytes, want %d", len(e.Sig), ed25519.SignatureSize)
	}
	if e.Key != a.fp {
		return refuse(ReasonBadSignature, rev, "signed by key %s; this site trusts the region key %s", clip(e.Key), a.fp)
	}
	return nil
}
