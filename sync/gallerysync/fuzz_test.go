package gallerysync

import (
	"crypto/ed25519"
	"errors"
	"testing"
)

// fuzzKey is a fixed key, so that the seeds' signatures stay valid in
// the corpus across runs.
var fuzzKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

var reasons = map[string]bool{
	ReasonMalformed: true, ReasonUnsigned: true, ReasonBadSignature: true, ReasonWrongSite: true,
	ReasonTruncated: true, ReasonOversized: true, ReasonBodyMismatch: true, ReasonBadBody: true,
}

// FuzzAssemblerAdd: whatever arrives, Add does not panic, refuses with a
// *Refusal of a known reason, and returns only revisions that validate and
// are for this site. Each input is fed after the real first chunk of a
// revision, so the fuzzer explores completing and disturbing one in
// progress.
func FuzzAssemblerAdd(f *testing.F) {
	k := keys{fuzzKey.Public().(ed25519.PublicKey), fuzzKey}
	small := testRevision(3)
	small.Upserts = small.Upserts[:2]
	msgs := chunks(f, k, small, MinChunkBytes)
	one := chunks(f, k, Revision{Region: "north", Site: "ik5", Number: 1, Issued: t0, Full: true}, DefaultChunkBytes)
	for _, m := range append(msgs, one...) {
		f.Add(m)
	}
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte("DZGR\x01\x00\x00\x00\x07{\"v\":1}data"))
	f.Add([]byte("DZGR\x01\xff\xff\xff\xff{}"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		a := NewAssembler("north", "ik5", k.pub, Limits{MaxBodyBytes: 1 << 20, MaxJSONBytes: 4 << 20})
		if _, err := a.Add(msgs[0]); err != nil {
			t.Fatal(err)
		}
		rev, err := a.Add(msg)
		if err != nil {
			var r *Refusal
			if !errors.As(err, &r) || !reasons[r.Reason] {
				t.Fatalf("error %v (%T) is not a *Refusal with a known reason", err, err)
			}
			return
		}
		if rev == nil {
			return
		}
		if err := rev.Validate(); err != nil {
			t.Fatalf("returned a revision that does not validate: %v", err)
		}
		if rev.Region != "north" || rev.Site != "ik5" {
			t.Fatalf("returned a revision for %s/%s", rev.Region, rev.Site)
		}
	})
}
