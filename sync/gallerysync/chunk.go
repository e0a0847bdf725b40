package gallerysync

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Version is the version byte of the chunk framing and the body's "v".
const Version = 1

// DefaultChunkBytes is the chunk message size the region sends: well
// below the broker's largest message (1 MiB by default) so that a chunk
// never waits behind a limit, and large enough that a 5,000-person initial
// sync takes a few hundred messages.
const DefaultChunkBytes = 256 << 10

// MinChunkBytes is the smallest maxChunk Chunks accepts: room for the
// header and some data.
const MinChunkBytes = 2 << 10

// signedPrefix separates what the region's gallery key signs from anything
// else the same key might ever sign.
const signedPrefix = "dozor gallery revision header v1\n"

// Limits bound what an Assembler accepts; a zero field takes its default.
type Limits struct {
	// MaxBodyBytes bounds a revision's compressed body (512 MiB).
	MaxBodyBytes int64
	// MaxJSONBytes bounds the decompressed body (1 GiB).
	MaxJSONBytes int64
	// MaxChunks bounds the number of chunks of one revision (4096).
	MaxChunks int
	// MaxChunkBytes bounds one chunk message (1 MiB, the broker's largest
	// message by default).
	MaxChunkBytes int
}

// DefaultLimits returns the defaults.
func DefaultLimits() Limits {
	return Limits{MaxBodyBytes: 512 << 20, MaxJSONBytes: 1 << 30, MaxChunks: 4096, MaxChunkBytes: 1 << 20}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	if l.MaxJSONBytes <= 0 {
		l.MaxJSONBytes = d.MaxJSONBytes
	}
	if l.MaxChunks <= 0 {
		l.MaxChunks = d.MaxChunks
	}
	if l.MaxChunkBytes <= 0 {
		l.MaxChunkBytes = d.MaxChunkBytes
	}
	return l
}

// header is what the signature covers; every chunk of a revision carries
// the same header and signature, so each chunk is checkable on its own and
// the body by its hash.
type header struct {
	Region     string
	Site       string
	Revision   uint64
	Base       uint64
	Full       bool
	Issued     string // canonical: UTC, RFC 3339 with nanoseconds as needed
	Chunks     int
	BodySize   int64
	BodySHA256 string
}

// canonical is the exact text signed: a fixed prefix, then one
// "name=value" line per field in a fixed order. IDs cannot contain a line
// break (they are topic levels), so no field can pass for another.
func (h header) canonical() []byte {
	var b strings.Builder
	b.WriteString(signedPrefix)
	fmt.Fprintf(&b, "region=%s\nsite=%s\nrevision=%d\nbase=%d\nfull=%t\nissued=%s\nchunks=%d\nbody_size=%d\nbody_sha256=%s\n",
		h.Region, h.Site, h.Revision, h.Base, h.Full, h.Issued, h.Chunks, h.BodySize, h.BodySHA256)
	return []byte(b.String())
}

// chunkLen is the data length of chunk i: the body split into Chunks
// parts of ceil(BodySize/Chunks) bytes, the last one shorter or equal.
func (h header) chunkLen(i int) int64 {
	per := (h.BodySize + int64(h.Chunks) - 1) / int64(h.Chunks)
	if i < h.Chunks-1 {
		return per
	}
	return h.BodySize - per*int64(h.Chunks-1)
}

// A chunk message on the revision topic is binary: the magic bytes, whose
// last byte is the framing's version, the length of the JSON header as a
// big-endian uint32, the header, then the chunk's data bytes up to the end
// of the message. MQTT payloads are binary-safe, so the data goes as it is
// rather than as base64 (which would cost a third more on the wire).
var magic = [5]byte{'D', 'Z', 'G', 'R', Version}

// prefixLen is what a message spends before its JSON header.
const prefixLen = len(magic) + 4

// envelope is the JSON header of one chunk message.
type envelope struct {
	Region     string `json:"region"`
	Site       string `json:"site"`
	Revision   uint64 `json:"revision"`
	Base       uint64 `json:"base"`
	Full       bool   `json:"full"`
	Issued     string `json:"issued"`
	Chunk      int    `json:"chunk"`
	Chunks     int    `json:"chunks"`
	BodySize   int64  `json:"body_size"`
	BodySHA256 string `json:"body_sha256"`
	// Key is the Fingerprint of the signing key, so that a site names the
	// key it was offered when it refuses one.
	Key string `json:"key"`
	Sig []byte `json:"sig"`
}

func (e envelope) header() header {
	return header{Region: e.Region, Site: e.Site, Revision: e.Revision, Base: e.Base, Full: e.Full,
		Issued: e.Issued, Chunks: e.Chunks, BodySize: e.BodySize, BodySHA256: e.BodySHA256}
}

// frame writes the chunk message of e carrying data.
func (e envelope) frame(data []byte) ([]byte, error) {
	hj, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	msg := make([]byte, 0, prefixLen+len(hj)+len(data))
	msg = append(msg, magic[:]...)
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(hj)))
	msg = append(msg, hj...)
	return append(msg, data...), nil
}

// unframe reads a chunk message into its header and its data, which
// aliases msg. It checks the framing only; the error says what is wrong.
func unframe(msg []byte) (envelope, []byte, error) {
	var e envelope
	switch {
	case !bytes.HasPrefix(msg, magic[:len(magic)-1]):
		return e, nil, fmt.Errorf("not a chunk message: it does not start with %q", magic[:len(magic)-1])
	case len(msg) >= len(magic) && msg[len(magic)-1] != Version:
		return e, nil, fmt.Errorf("version %d; this reader knows %d", msg[len(magic)-1], Version)
	case len(msg) < prefixLen:
		return e, nil, fmt.Errorf("message of %d bytes ends before the header length", len(msg))
	}
	n := binary.BigEndian.Uint32(msg[len(magic):])
	if rest := len(msg) - prefixLen; int64(n) > int64(rest) {
		return e, nil, fmt.Errorf("header of %d bytes, but only %d bytes follow its length", n, rest)
	}
	dec := json.NewDecoder(bytes.NewReader(msg[prefixLen : prefixLen+int(n)]))
	if err := dec.Decode(&e); err != nil {
		return envelope{}, nil, fmt.Errorf("header: %w", err)
	}
	if dec.More() {
		return envelope{}, nil, errors.New("header: data after the JSON object")
	}
	return e, msg[prefixLen+int(n):], nil
}

func canonicalTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Signer signs and chunks revisions with the region's gallery key.
type Signer struct {
	priv ed25519.PrivateKey
	fp   string
}

// NewSigner returns a Signer for priv.
func NewSigner(priv ed25519.PrivateKey) *Signer {
	s := &Signer{priv: priv}
	if len(priv) == ed25519.PrivateKeySize {
		s.fp = Fingerprint(priv.Public().(ed25519.PublicKey))
	}
	return s
}

// PublicKey is the key the sites verify with.
func (s *Signer) PublicKey() ed25519.PublicKey {
	if len(s.priv) != ed25519.PrivateKeySize {
		return nil
	}
	return s.priv.Public().(ed25519.PublicKey)
}

// Chunks validates r, encodes its body (gzip JSON, vectors as base64 of
// little-endian float32), signs the header and splits the body into chunk
// messages of at most maxChunk bytes each, in order. Every message is
// published on the site's revision topic.
func (s *Signer) Chunks(r Revision, maxChunk int) ([][]byte, error) {
	if len(s.priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("gallery revision: signing key of %d bytes, want %d", len(s.priv), ed25519.PrivateKeySize)
	}
	if maxChunk < MinChunkBytes {
		return nil, fmt.Errorf("gallery revision: chunk size %d bytes, want at least %d", maxChunk, MinChunkBytes)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	body, err := encodeBody(r)
	if err != nil {
		return nil, err
	}
	h := header{Region: r.Region, Site: r.Site, Revision: r.Number, Base: r.Base, Full: r.Full, Issued: canonicalTime(r.Issued)}
	return s.chunkBody(h, body, maxChunk)
}

// chunkBody signs h for body and splits body into chunk messages of at
// most maxChunk bytes. h's Chunks, BodySize and BodySHA256 are set here.
func (s *Signer) chunkBody(h header, body []byte, maxChunk int) ([][]byte, error) {
	sum := sha256.Sum256(body)
	h.BodySize, h.BodySHA256 = int64(len(body)), hex.EncodeToString(sum[:])
	if max := DefaultLimits().MaxBodyBytes; h.BodySize > max {
		return nil, fmt.Errorf("gallery revision %d: body of %d bytes, more than %d", h.Revision, h.BodySize, max)
	}

	// The header with the widest chunk numbers it can hold bounds what
	// each message spends besides the data.
	probe, err := envelope{Region: h.Region, Site: h.Site, Revision: h.Revision, Base: h.Base, Full: h.Full,
		Issued: h.Issued, Chunk: math.MaxInt32, Chunks: math.MaxInt32, BodySize: h.BodySize, BodySHA256: h.BodySHA256,
		Key: s.fp, Sig: make([]byte, ed25519.SignatureSize)}.frame(nil)
	if err != nil {
		return nil, fmt.Errorf("gallery revision %d: chunk header: %w", h.Revision, err)
	}
	room := maxChunk - len(probe)
	if room < 1 {
		return nil, fmt.Errorf("gallery revision %d: chunk size %d bytes leaves no room for data after a %d-byte header", h.Revision, maxChunk, len(probe))
	}
	n := (len(body) + room - 1) / room
	if max := DefaultLimits().MaxChunks; n > max {
		return nil, fmt.Errorf("gallery revision %d: a body of %d bytes needs %d chunks of %d bytes, more than %d; send larger chunks", h.Revision, len(body), n, maxChunk, max)
	}
	h.Chunks = n
	sig := ed25519.Sign(s.priv, h.canonical())

	out := make([][]byte, n)
	var off int64
	for i := range n {
		l := h.chunkLen(i)
		e := envelope{Region: h.Region, Site: h.Site, Revision: h.Revision, Base: h.Base, Full: h.Full,
			Issued: h.Issued, Chunk: i, Chunks: n, BodySize: h.BodySize, BodySHA256: h.BodySHA256,
			Key: s.fp, Sig: sig}
		if out[i], err = e.frame(body[off : off+l]); err != nil {
			return nil, fmt.Errorf("gallery revision %d: chunk %d: %w", h.Revision, i, err)
		}
		off += l
	}
	return out, nil
}

// The body: the revision as JSON, gzip-compressed.
type bodyJSON struct {
	V        int          `json:"v"`
	Region   string       `json:"region"`
	Site     string       `json:"site"`
	Revision uint64       `json:"revision"`
	Base     uint64       `json:"base"`
	Full     bool         `json:"full"`
	Issued   string       `json:"issued"`
	Upserts  []personJSON `json:"upserts"`
	Removals []string     `json:"removals"`
}

type personJSON struct {
	ID          string         `json:"id"`
	DisplayName string         `json:"display_name"`
	Status      string         `json:"status"`
	Categories  []string       `json:"categories,omitempty"`
	WatchLists  []string       `json:"watch_lists,omitempty"`
	Photos      []photoJSON    `json:"photos"`
	Templates   []templateJSON `json:"templates"`
}

type photoJSON struct {
	SHA256 string `json:"sha256"`
	JPEG   []byte `json:"jpeg"`
	Source string `json:"source,omitempty"`
}

type templateJSON struct {
	Model       string  `json:"model"`
	Vec         vecJSON `json:"vec"`
	Quality     float32 `json:"quality"`
	PhotoSHA256 string  `json:"photo_sha256"`
}

// vecJSON is a vector as base64 of its little-endian float32s: a third of
// the size of decimal numbers, and exact.
type vecJSON []float32

func (v vecJSON) MarshalJSON() ([]byte, error) {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return json.Marshal(raw)
}

func (v *vecJSON) UnmarshalJSON(b []byte) error {
	var raw []byte
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("vector: want base64 of little-endian float32s: %w", err)
	}
	if len(raw)%4 != 0 {
		return fmt.Errorf("vector: %d bytes, not a whole number of float32s", len(raw))
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	*v = out
	return nil
}

func encodeBody(r Revision) ([]byte, error) {
	b := bodyJSON{V: Version, Region: r.Region, Site: r.Site, Revision: r.Number, Base: r.Base, Full: r.Full,
		Issued: canonicalTime(r.Issued), Upserts: make([]personJSON, len(r.Upserts)), Removals: r.Removals}
	if b.Removals == nil {
		b.Removals = []string{}
	}
	for i, p := range r.Upserts {
		pj := personJSON{ID: p.ID, DisplayName: p.DisplayName, Status: p.Status, Categories: p.Categories,
			WatchLists: p.WatchLists, Photos: make([]photoJSON, len(p.Photos)), Templates: make([]templateJSON, len(p.Templates))}
		for j, ph := range p.Photos {
			pj.Photos[j] = photoJSON(ph)
		}
		for j, t := range p.Templates {
			pj.Templates[j] = templateJSON{Model: t.Model, Vec: t.Vec, Quality: t.Quality, PhotoSHA256: t.PhotoSHA256}
		}
		b.Upserts[i] = pj
	}
	var buf bytes.Buffer
	// The body is mostly JPEG and vectors in base64, which the fastest
	// level brings back to about their binary size. The default level
	// finds a little more (repeated hashes, field names, JPEG headers):
	// 3.5% fewer bytes for a 5,000-person initial sync, but it took 2.2
	// times as long to encode (BenchmarkInitialSync5000), and a full
	// revision is encoded on the region's one publisher goroutine.
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if err := json.NewEncoder(zw).Encode(b); err != nil {
		return nil, fmt.Errorf("gallery revision %d: encode body: %w", r.Number, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gallery revision %d: compress body: %w", r.Number, err)
	}
	return buf.Bytes(), nil
}

// decodeBody decompresses and decodes a body of at most maxJSON bytes
// once decompressed, and checks it against the signed header.
func decodeBody(body []byte, h header, maxJSON int64) (*Revision, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	js, err := io.ReadAll(io.LimitReader(zr, maxJSON+1))
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	if int64(len(js)) > maxJSON {
		return nil, fmt.Errorf("decompresses to more than %d bytes", maxJSON)
	}
	var b bodyJSON
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("JSON: data after the object")
	}
	switch {
	case b.V != Version:
		return nil, fmt.Errorf("v: %d; this reader knows %d", b.V, Version)
	case b.Region != h.Region || b.Site != h.Site:
		return nil, fmt.Errorf("body for %s/%s under a header for %s/%s", clip(b.Region), clip(b.Site), h.Region, h.Site)
	case b.Revision != h.Revision || b.Base != h.Base || b.Full != h.Full:
		return nil, fmt.Errorf("body revision %d base %d full %t under a header with revision %d base %d full %t", b.Revision, b.Base, b.Full, h.Revision, h.Base, h.Full)
	case b.Issued != h.Issued:
		return nil, fmt.Errorf("body issued %s under a header issued %s", clip(b.Issued), h.Issued)
	}
	issued, err := time.Parse(time.RFC3339Nano, b.Issued)
	if err != nil {
		return nil, fmt.Errorf("issued: %w", err)
	}
	// Empty lists decode as nil, so a revision reads back as it was built.
	r := &Revision{Region: b.Region, Site: b.Site, Number: b.Revision, Base: b.Base, Full: b.Full, Issued: issued,
		Upserts: nilIfEmpty(make([]Person, len(b.Upserts))), Removals: nilIfEmpty(b.Removals)}
	for i, pj := range b.Upserts {
		p := Person{ID: pj.ID, DisplayName: pj.DisplayName, Status: pj.Status, Categories: nilIfEmpty(pj.Categories),
			WatchLists: nilIfEmpty(pj.WatchLists), Photos: nilIfEmpty(make([]Photo, len(pj.Photos))),
			Templates: nilIfEmpty(make([]Template, len(pj.Templates)))}
		for j, ph := range pj.Photos {
			p.Photos[j] = Photo(ph)
		}
		for j, t := range pj.Templates {
			p.Templates[j] = Template{Model: t.Model, Vec: t.Vec, Quality: t.Quality, PhotoSHA256: t.PhotoSHA256}
		}
		r.Upserts[i] = p
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// parseCanonicalTime reads an envelope's issued time, which must be in
// the one spelling canonicalTime writes.
func parseCanonicalTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("issued: want an RFC 3339 time, got %s", strconv.Quote(clip(s)))
	}
	if canonicalTime(t) != s {
		return time.Time{}, fmt.Errorf("issued: %s is not in canonical form (UTC, %s)", strconv.Quote(clip(s)), canonicalTime(t))
	}
	return t, nil
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
