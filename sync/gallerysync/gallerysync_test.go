package gallerysync

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 12, 3, 0, 250_000_000, time.UTC)

// fakeJPEG is n bytes that pass for a JPEG: the start-of-image marker,
// then noise (which, like a real JPEG, does not compress).
func fakeJPEG(rng *mrand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0})
	return b
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func vector(rng *mrand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// person makes a person with the given photos of jpegBytes each and, per
// photo, one template per model.
func person(rng *mrand.Rand, id string, photos, jpegBytes int, dim int, models ...string) Person {
	p := Person{ID: id, DisplayName: "Person " + id, Status: StatusActive, Categories: []string{"remand"}}
	for range photos {
		j := fakeJPEG(rng, jpegBytes)
		sha := shaHex(j)
		p.Photos = append(p.Photos, Photo{SHA256: sha, JPEG: j, Source: "region upload"})
		for _, m := range models {
			p.Templates = append(p.Templates, Template{Model: m, Vec: vector(rng, dim), Quality: 0.75, PhotoSHA256: sha})
		}
	}
	return p
}

// testRevision is a delta with several persons, photos and templates.
func testRevision(number uint64) Revision {
	rng := mrand.New(mrand.NewPCG(number, 7))
	r := Revision{Region: "north", Site: "ik5", Number: number, Base: number - 1, Issued: t0, Removals: []string{"P-9", "Петров-1"}}
	for i := range 4 {
		p := person(rng, fmt.Sprintf("P-%d", i), 1+i%3, 3000, 128, "fused-1", "dlib-1")
		if i == 2 {
			p.Status, p.WatchLists, p.Categories = StatusInTransit, []string{"escape-risk", "co-defendants"}, nil
		}
		r.Upserts = append(r.Upserts, p)
	}
	r.Upserts = append(r.Upserts, Person{ID: "P-no-bio", DisplayName: "No photo yet", Status: StatusActive})
	return r
}

type keys struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newKeys(t testing.TB) keys {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keys{pub, priv}
}

func chunks(t testing.TB, k keys, r Revision, maxChunk int) [][]byte {
	t.Helper()
	c, err := NewSigner(k.priv).Chunks(r, maxChunk)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// feed adds msgs in order and returns what the last Add returned; every
// earlier Add must return nil, nil.
func feed(t *testing.T, a *Assembler, msgs [][]byte) (*Revision, error) {
	t.Helper()
	for i, m := range msgs[:len(msgs)-1] {
		if rev, err := a.Add(m); rev != nil || err != nil {
			t.Fatalf("chunk %d of %d: got %v, %v before the last chunk", i, len(msgs), rev, err)
		}
	}
	return a.Add(msgs[len(msgs)-1])
}

func sameRevision(t *testing.T, got *Revision, want Revision) {
	t.Helper()
	if got == nil {
		t.Fatal("no revision")
	}
	if !got.Issued.Equal(want.Issued) {
		t.Fatalf("issued %v, want %v", got.Issued, want.Issued)
	}
	g, w := *got, want
	g.Issued, w.Issued = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		for i := range min(len(g.Upserts), len(w.Upserts)) {
			if !reflect.DeepEqual(g.Upserts[i], w.Upserts[i]) {
				t.Fatalf("upserts[%d] changed on the way", i)
			}
		}
		g.Upserts, w.Upserts = nil, nil
		t.Fatalf("the revision changed on the way:\n got %+v\nwant %+v", g, w)
	}
}

func TestRoundTrip(t *testing.T) {
	k := newKeys(t)
	r := testRevision(12)
	msgs := chunks(t, k, r, 4<<10)
	if len(msgs) < 5 {
		t.Fatalf("%d chunks; the test wants several", len(msgs))
	}
	for i, m := range msgs {
		if len(m) > 4<<10 {
			t.Fatalf("chunk %d is %d bytes, more than the 4096 asked for", i, len(m))
		}
	}
	t.Run("in order", func(t *testing.T) {
		a := NewAssembler("north", "ik5", k.pub, Limits{})
		rev, err := feed(t, a, msgs)
		if err != nil {
			t.Fatal(err)
		}
		sameRevision(t, rev, r)
		if n, have, total := a.Pending(); n != 0 || have != 0 || total != 0 {
			t.Fatalf("Pending() = %d, %d, %d after a complete revision", n, have, total)
		}
	})
	t.Run("reversed, with repeats", func(t *testing.T) {
		a := NewAssembler("north", "ik5", k.pub, Limits{})
		var rev *Revision
		for i := len(msgs) - 1; i >= 0; i-- {
			for range 2 {
				got, err := a.Add(msgs[i])
				if err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				if got != nil {
					rev = got
				}
			}
			if n, have, _ := a.Pending(); i > 0 && (n != 12 || have != len(msgs)-i) {
				t.Fatalf("Pending() = %d, %d after chunk %d", n, have, i)
			}
		}
		sameRevision(t, rev, r)
	})
	t.Run("through one reused buffer", func(t *testing.T) {
		// The Assembler keeps no reference to a message after Add.
		a := NewAssembler("north", "ik5", k.pub, Limits{})
		buf := make([]byte, 4<<10)
		var rev *Revision
		for i, m := range msgs {
			got, err := a.Add(buf[:copy(buf, m)])
			if err != nil {
				t.Fatalf("chunk %d: %v", i, err)
			}
			rev = got
			clear(buf)
		}
		sameRevision(t, rev, r)
	})
	t.Run("full revision in one chunk", func(t *testing.T) {
		full := testRevision(40)
		full.Full, full.Base, full.Removals = true, 0, nil
		a := NewAssembler("north", "ik5", k.pub, Limits{})
		rev, err := feed(t, a, chunks(t, k, full, DefaultChunkBytes))
		if err != nil {
			t.Fatal(err)
		}
		sameRevision(t, rev, full)
	})
}

// TestChunkLayout reads the chunk messages by their documented layout:
// every header carries the signed fields and the chunk's number, and the
// data, as raw bytes, make up the body.
func TestChunkLayout(t *testing.T) {
	k := newKeys(t)
	r := testRevision(12)
	msgs := chunks(t, k, r, 4<<10)
	want, err := encodeBody(r)
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	var sig any
	for i, m := range msgs {
		h, data := unframeTest(t, m)
		fields := make([]string, 0, len(h))
		for f := range h {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		if got := strings.Join(fields, " "); got != "base body_sha256 body_size chunk chunks full issued key region revision sig site" {
			t.Fatalf("chunk %d: header fields %s", i, got)
		}
		if h["chunk"] != json.Number(fmt.Sprint(i)) || h["chunks"] != json.Number(fmt.Sprint(len(msgs))) {
			t.Fatalf("chunk %d: chunk %v of %v", i, h["chunk"], h["chunks"])
		}
		if h["key"] != Fingerprint(k.pub) || h["revision"] != json.Number("12") || h["issued"] != "2025-06-01T12:03:00.25Z" {
			t.Fatalf("chunk %d: header %v", i, h)
		}
		if i > 0 && h["sig"] != sig {
			t.Fatalf("chunk %d carries another signature", i)
		}
		sig = h["sig"]
		body = append(body, data...)
	}
	if !bytes.Equal(body, want) {
		t.Fatalf("the chunks' data are %d bytes that are not the %d-byte body", len(body), len(want))
	}
	h := headerOf(t, msgs[0])
	if h["body_sha256"] != shaHex(body) || h["body_size"] != json.Number(fmt.Sprint(len(body))) {
		t.Fatalf("body_sha256 %v, body_size %v; the body is %d bytes hashing to %s", h["body_sha256"], h["body_size"], len(body), shaHex(body))
	}
}

// A chunk of another revision midway drops the one in progress.
func TestNewRevisionRestarts(t *testing.T) {
	k := newKeys(t)
	r12, r13 := testRevision(12), testRevision(13)
	a12, a13 := chunks(t, k, r12, 4<<10), chunks(t, k, r13, 4<<10)
	a := NewAssembler("north", "ik5", k.pub, Limits{})
	for _, m := range a12[:3] {
		if rev, err := a.Add(m); rev != nil || err != nil {
			t.Fatal(rev, err)
		}
	}
	rev, err := feed(t, a, a13)
	if err != nil {
		t.Fatal(err)
	}
	sameRevision(t, rev, r13)
	// The rest of 12 alone is not 12: its first chunks were dropped.
	for _, m := range a12[3:] {
		if rev, err := a.Add(m); rev != nil || err != nil {
			t.Fatalf("got %v, %v from the tail of an abandoned revision", rev, err)
		}
	}
	if n, have, total := a.Pending(); n != 12 || have != len(a12)-3 || total != len(a12) {
		t.Fatalf("Pending() = %d, %d, %d", n, have, total)
	}
	// The same number re-issued with another body starts over too.
	again := testRevision(12)
	again.Issued = t0.Add(time.Minute)
	rev, err = feed(t, a, chunks(t, k, again, 4<<10))
	if err != nil {
		t.Fatal(err)
	}
	sameRevision(t, rev, again)
}

// unframeTest reads a chunk message by its documented layout, apart from
// the package's own reader: "DZGR", version 1, the header length as a
// big-endian uint32, the JSON header, the data.
func unframeTest(t *testing.T, msg []byte) (map[string]any, []byte) {
	t.Helper()
	if len(msg) < 9 || string(msg[:5]) != "DZGR\x01" {
		t.Fatalf("chunk message starts with %q", msg[:min(len(msg), 9)])
	}
	n := binary.BigEndian.Uint32(msg[5:9])
	if int64(n) > int64(len(msg)-9) {
		t.Fatalf("header length %d beyond a %d-byte message", n, len(msg))
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(msg[9 : 9+n]))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m, msg[9+n:]
}

// frameTest writes a chunk message from a header given as raw bytes.
func frameTest(hdr, data []byte) []byte {
	msg := binary.BigEndian.AppendUint32([]byte("DZGR\x01"), uint32(len(hdr)))
	return append(append(msg, hdr...), data...)
}

// headerOf is the JSON header of a chunk.
func headerOf(t *testing.T, msg []byte) map[string]any {
	t.Helper()
	m, _ := unframeTest(t, msg)
	return m
}

// dataOf is a copy of the data of a chunk.
func dataOf(t *testing.T, msg []byte) []byte {
	t.Helper()
	_, d := unframeTest(t, msg)
	return bytes.Clone(d)
}

// alter returns msg with header fields set (nil deletes).
func alter(t *testing.T, msg []byte, kv ...any) []byte {
	t.Helper()
	m, data := unframeTest(t, msg)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
	hdr, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return frameTest(hdr, data)
}

// withData returns msg carrying data instead of its own.
func withData(t *testing.T, msg, data []byte) []byte {
	t.Helper()
	m, _ := unframeTest(t, msg)
	hdr, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return frameTest(hdr, data)
}

// wantRefusal checks err is a *Refusal with reason, whose text contains
// text.
func wantRefusal(t *testing.T, rev *Revision, err error, reason, text string) {
	t.Helper()
	if rev != nil {
		t.Fatalf("got revision %d, want a refusal", rev.Number)
	}
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("error %v (%T) is not a *Refusal", err, err)
	}
	if r.Reason != reason || !strings.Contains(r.Text, text) {
		t.Fatalf("refusal %q: %q; want %q containing %q", r.Reason, r.Text, reason, text)
	}
}

// refuseSetup is a signed revision in several chunks and an assembler.
func refuseSetup(t *testing.T) (keys, [][]byte, *Assembler) {
	k := newKeys(t)
	msgs := chunks(t, k, testRevision(12), 4<<10)
	return k, msgs, NewAssembler("north", "ik5", k.pub, Limits{})
}

// completes feeds the chunks and reports whether they still make the
// revision: a refused chunk must not have spoiled what was in progress.
func completes(t *testing.T, a *Assembler, msgs [][]byte) {
	t.Helper()
	var rev *Revision
	for _, m := range msgs {
		got, err := a.Add(m)
		if err != nil {
			t.Fatal(err)
		}
		if got != nil {
			rev = got
		}
	}
	if rev == nil || rev.Number != 12 {
		t.Fatalf("the good chunks did not complete revision 12 after a refusal: %v", rev)
	}
}

func TestRefuseUnsigned(t *testing.T) {
	_, msgs, a := refuseSetup(t)
	rev, err := a.Add(alter(t, msgs[0], "sig", nil))
	wantRefusal(t, rev, err, ReasonUnsigned, "carries no signature")
	rev, err = a.Add(alter(t, msgs[0], "sig", ""))
	wantRefusal(t, rev, err, ReasonUnsigned, "carries no signature")
	completes(t, a, msgs)

	noKey := NewAssembler("north", "ik5", nil, Limits{})
	rev, err = noKey.Add(msgs[0])
	wantRefusal(t, rev, err, ReasonUnsigned, "no region key configured")
}

func TestRefuseOtherKey(t *testing.T) {
	k, msgs, a := refuseSetup(t)
	other := chunks(t, newKeys(t), testRevision(12), 4<<10)
	rev, err := a.Add(other[0])
	wantRefusal(t, rev, err, ReasonBadSignature, "this site trusts the region key "+Fingerprint(k.pub))
	// Another key that claims to be ours.
	rev, err = a.Add(alter(t, other[0], "key", Fingerprint(k.pub)))
	wantRefusal(t, rev, err, ReasonBadSignature, "does not verify")
	// Our signature over an altered header.
	for _, kv := range [][]any{{"revision", 13, "base", 12}, {"full", true, "base", 0}, {"issued", "2025-06-01T12:04:00Z"}, {"body_size", json.Number("999999")}} {
		rev, err = a.Add(alter(t, msgs[0], kv...))
		wantRefusal(t, rev, err, ReasonBadSignature, "does not verify")
	}
	rev, err = a.Add(alter(t, msgs[0], "sig", "AAAA"))
	wantRefusal(t, rev, err, ReasonBadSignature, "signature of 3 bytes")
	completes(t, a, msgs)
}

func TestRefuseWrongSite(t *testing.T) {
	k, msgs, a := refuseSetup(t)
	r := testRevision(12)
	r.Site = "ik6"
	rev, err := a.Add(chunks(t, k, r, 4<<10)[0])
	wantRefusal(t, rev, err, ReasonWrongSite, "for north/ik6, this is north/ik5")
	r.Site, r.Region = "ik5", "south"
	rev, err = a.Add(chunks(t, k, r, 4<<10)[0])
	wantRefusal(t, rev, err, ReasonWrongSite, "for south/ik5")
	completes(t, a, msgs)
}

func TestRefuseTruncated(t *testing.T) {
	_, msgs, a := refuseSetup(t)
	data := dataOf(t, msgs[1])
	rev, err := a.Add(withData(t, msgs[1], data[:len(data)-8]))
	wantRefusal(t, rev, err, ReasonTruncated, "chunk 1 of")
	rev, err = a.Add(withData(t, msgs[1], nil))
	wantRefusal(t, rev, err, ReasonTruncated, "has 0 bytes of data")
	completes(t, a, msgs)
}

func TestRefuseOversized(t *testing.T) {
	k, msgs, a := refuseSetup(t)
	rev, err := a.Add(withData(t, msgs[1], append(dataOf(t, msgs[1]), 1, 2, 3)))
	wantRefusal(t, rev, err, ReasonOversized, "chunk 1 of")

	small := NewAssembler("north", "ik5", k.pub, Limits{MaxChunkBytes: 1000})
	rev, err = small.Add(msgs[0])
	wantRefusal(t, rev, err, ReasonOversized, "more than 1000")
	few := NewAssembler("north", "ik5", k.pub, Limits{MaxChunks: 2})
	rev, err = few.Add(msgs[0])
	wantRefusal(t, rev, err, ReasonOversized, "chunks, more than 2")
	tiny := NewAssembler("north", "ik5", k.pub, Limits{MaxBodyBytes: 100})
	rev, err = tiny.Add(msgs[0])
	wantRefusal(t, rev, err, ReasonOversized, "more than 100")
	rev, err = a.Add(alter(t, msgs[0], "chunks", 5000))
	wantRefusal(t, rev, err, ReasonOversized, "5000 chunks, more than 4096")
	completes(t, a, msgs)

	if _, err := NewSigner(k.priv).Chunks(testRevision(12), 300); err == nil {
		t.Fatal("Chunks accepted a chunk size with no room for the envelope")
	}
}

func TestRefuseBodyMismatch(t *testing.T) {
	_, msgs, a := refuseSetup(t)
	raw := dataOf(t, msgs[1])
	copy(raw, "ABCDEFGH") // same length, other bytes
	bad := withData(t, msgs[1], raw)
	msgs2 := append([][]byte{msgs[0], bad}, msgs[2:]...)
	rev, err := feed(t, a, msgs2)
	wantRefusal(t, rev, err, ReasonBodyMismatch, "the signed body_sha256 is")
	if n, _, _ := a.Pending(); n != 0 {
		t.Fatalf("a mismatched body stays in progress as revision %d", n)
	}
	completes(t, a, msgs)
}

func TestRefuseMalformed(t *testing.T) {
	_, msgs, a := refuseSetup(t)
	m := msgs[0]
	hdr := m[9 : 9+binary.BigEndian.Uint32(m[5:9])]
	data := m[9+len(hdr):]
	cases := []struct {
		name, text string
		msg        []byte
	}{
		{"not a chunk", "does not start with \"DZGR\"", []byte("revision=12")},
		{"empty", "does not start with", nil},
		{"magic cut short", "does not start with", m[:3]},
		{"a JSON envelope", "does not start with", []byte(`{"v":1,"region":"north","site":"ik5","revision":12}`)},
		{"version 2", "version 2; this reader knows 1", append([]byte("DZGR\x02"), m[5:]...)},
		{"version 0", "version 0; this reader knows 1", append([]byte("DZGR\x00"), m[5:]...)},
		{"magic alone", "message of 4 bytes ends before the header length", m[:4]},
		{"no header length", "message of 7 bytes ends before the header length", m[:7]},
		{"header cut short", "but only", m[:9+len(hdr)/2]},
		{"header length beyond the message", "header of 4294967295 bytes", append(binary.BigEndian.AppendUint32([]byte("DZGR\x01"), math.MaxUint32), m[9:]...)},
		{"header not JSON", "header: invalid character", frameTest([]byte("revision=12"), data)},
		{"header empty", "header: EOF", frameTest(nil, data)},
		{"header an array", "header: json: cannot unmarshal array", frameTest([]byte("[1]"), data)},
		{"two headers", "header: data after the JSON object", frameTest(append(append([]byte{}, hdr...), hdr...), data)},
		{"revision zero", "revision: 0", alter(t, m, "revision", 0)},
		{"revision missing", "revision: 0", alter(t, m, "revision", nil)},
		{"revision negative", "header: json: cannot unmarshal number -1", alter(t, m, "revision", -1)},
		{"revision beyond 2^53", "revision: 9007199254740992", alter(t, m, "revision", json.Number("9007199254740992"))},
		{"delta with a wrong base", "base: 3 for a delta to revision 12", alter(t, m, "base", 3)},
		{"full with a base", "base: 11 in a full revision", alter(t, m, "full", true)},
		{"issued not a time", "issued: want an RFC 3339 time", alter(t, m, "issued", "yesterday")},
		{"issued not canonical", "not in canonical form", alter(t, m, "issued", "2025-06-01T15:03:00.25+03:00")},
		{"body hash short", "body_sha256: want 64", alter(t, m, "body_sha256", "abc")},
		{"body hash upper case", "body_sha256: want 64", alter(t, m, "body_sha256", strings.ToUpper(headerOf(t, m)["body_sha256"].(string)))},
		{"sig not base64", "header: illegal base64", alter(t, m, "sig", "***")},
		{"chunk out of range", "chunk: 99", alter(t, m, "chunk", 99)},
		{"chunk negative", "chunk: -1", alter(t, m, "chunk", -1)},
		{"no chunks", "chunks: 0", alter(t, m, "chunks", 0)},
		{"body smaller than chunks", "body_size: 2 bytes in", alter(t, m, "body_size", 2)},
		{"chunks that cannot be filled", "cannot fill", alter(t, m, "body_size", 9, "chunks", 4)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rev, err := a.Add(tc.msg)
			wantRefusal(t, rev, err, ReasonMalformed, tc.text)
		})
	}
	completes(t, a, msgs)
}

// TestRefuseBadBody: the region's valid signature over a body that does
// not decode, does not match its header, or does not validate.
func TestRefuseBadBody(t *testing.T) {
	k := newKeys(t)
	s := NewSigner(k.priv)
	h := header{Region: "north", Site: "ik5", Revision: 12, Base: 11, Issued: canonicalTime(t0)}
	good := testRevision(12)
	noPhoto := testRevision(12)
	noPhoto.Upserts[0].Photos = nil
	nan := testRevision(12)
	nan.Upserts[1].Templates[0].Vec[3] = float32(math.NaN())
	other := testRevision(12)
	other.Number, other.Base = 14, 13
	gz := func(r Revision) []byte {
		b, err := encodeBody(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	goodBody := gz(good)
	cases := []struct {
		name, text string
		body       []byte
	}{
		{"not gzip", "not gzip", []byte("plain text, not compressed")},
		{"gzip cut short", "decompress", goodBody[:len(goodBody)-30]},
		{"template without its photo", "upserts[0].templates[0].photo_sha256", gz(noPhoto)},
		{"vector with NaN", "upserts[1].templates[0].vec: element 3 is not a finite number", gz(nan)},
		{"another revision's body", "body revision 14 base 13", gz(other)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := s.chunkBody(h, tc.body, 4<<10)
			if err != nil {
				t.Fatal(err)
			}
			a := NewAssembler("north", "ik5", k.pub, Limits{})
			rev, err := feed(t, a, msgs)
			wantRefusal(t, rev, err, ReasonBadBody, tc.text)
		})
	}
	t.Run("decompresses beyond the limit", func(t *testing.T) {
		a := NewAssembler("north", "ik5", k.pub, Limits{MaxJSONBytes: 1000})
		rev, err := feed(t, a, chunks(t, k, good, 4<<10))
		wantRefusal(t, rev, err, ReasonBadBody, "decompresses to more than 1000 bytes")
	})
}

func TestCheckOrder(t *testing.T) {
	delta := func(n uint64) Revision { return Revision{Number: n, Base: n - 1} }
	full := func(n uint64) Revision { return Revision{Number: n, Full: true} }
	cases := []struct {
		name    string
		inForce uint64
		r       Revision
		reason  string
	}{
		{"first delta", 0, delta(1), ""},
		{"next delta", 11, delta(12), ""},
		{"full from nothing", 0, full(30), ""},
		{"full over a gap", 11, full(30), ""},
		{"replayed", 12, delta(12), ReasonReplayed},
		{"older", 12, delta(5), ReasonReplayed},
		{"older full", 12, full(12), ReasonReplayed},
		{"gap", 11, delta(13), ReasonOutOfOrder},
		{"delta to an empty site", 0, delta(5), ReasonOutOfOrder},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOrder(tc.inForce, tc.r)
			if tc.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantRefusal(t, nil, err, tc.reason, "")
			if !strings.Contains(err.Error(), fmt.Sprintf("gallery revision %d refused (%s)", tc.r.Number, tc.reason)) {
				t.Fatalf("error text %q", err)
			}
		})
	}
}
