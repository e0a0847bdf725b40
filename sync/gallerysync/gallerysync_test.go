package gallerysync

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"reflect"
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

// envelopeOf decodes a chunk so that a test can alter it.
func envelopeOf(t *testing.T, msg []byte) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(msg))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func marshal(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// alter returns msg with fields set (nil deletes).
func alter(t *testing.T, msg []byte, kv ...any) []byte {
	t.Helper()
	m := envelopeOf(t, msg)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
	return marshal(t, m)
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
	data := envelopeOf(t, msgs[1])["data"].(string)
	rev, err := a.Add(alter(t, msgs[1], "data", data[:len(data)-8]))
	wantRefusal(t, rev, err, ReasonTruncated, "chunk 1 of")
	rev, err = a.Add(alter(t, msgs[1], "data", nil))
	wantRefusal(t, rev, err, ReasonTruncated, "has 0 bytes of data")
	completes(t, a, msgs)
}

func TestRefuseOversized(t *testing.T) {
	k, msgs, a := refuseSetup(t)
	data := envelopeOf(t, msgs[1])["data"].(string)
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := a.Add(alter(t, msgs[1], "data", base64.StdEncoding.EncodeToString(append(raw, 1, 2, 3))))
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
	e := envelopeOf(t, msgs[1])
	raw := []byte(e["data"].(string))
	copy(raw, "ABCDEFGH") // same length, other bytes
	bad := alter(t, msgs[1], "data", string(raw))
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
	cases := []struct {
		name, text string
		msg        []byte
	}{
		{"not JSON", "not a chunk envelope", []byte("revision=12")},
		{"empty", "not a chunk envelope", nil},
		{"cut short", "not a chunk envelope", m[:len(m)/2]},
		{"two objects", "data after the chunk envelope", append(append([]byte{}, m...), m...)},
		{"array", "not a chunk envelope", []byte("[1]")},
		{"v missing", "v: 0", alter(t, m, "v", nil)},
		{"v 2", "v: 2", alter(t, m, "v", 2)},
		{"revision zero", "revision: 0", alter(t, m, "revision", 0)},
		{"revision negative", "not a chunk envelope", alter(t, m, "revision", -1)},
		{"revision beyond 2^53", "revision: 9007199254740992", alter(t, m, "revision", json.Number("9007199254740992"))},
		{"delta with a wrong base", "base: 3 for a delta to revision 12", alter(t, m, "base", 3)},
		{"full with a base", "base: 11 in a full revision", alter(t, m, "full", true)},
		{"issued not a time", "issued: want an RFC 3339 time", alter(t, m, "issued", "yesterday")},
		{"issued not canonical", "not in canonical form", alter(t, m, "issued", "2025-06-01T15:03:00.25+03:00")},
		{"body hash short", "body_sha256: want 64", alter(t, m, "body_sha256", "abc")},
		{"body hash upper case", "body_sha256: want 64", alter(t, m, "body_sha256", strings.ToUpper(envelopeOf(t, m)["body_sha256"].(string)))},
		{"sig not base64", "not a chunk envelope", alter(t, m, "sig", "***")},
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
