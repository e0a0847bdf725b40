package gallerysync

import (
	"fmt"
	mrand "math/rand/v2"
	"testing"
)

// BenchmarkInitialSync5000 chunks and assembles a full revision of 5,000
// persons, each with one 5 KB JPEG and two 512-dimension templates, and
// reports what goes over the wire.
func BenchmarkInitialSync5000(b *testing.B) {
	const persons = 5000
	rng := mrand.New(mrand.NewPCG(1, 2))
	r := Revision{Region: "north", Site: "ik5", Number: 1, Full: true, Issued: t0}
	for i := range persons {
		r.Upserts = append(r.Upserts, person(rng, fmt.Sprintf("P-%05d", i), 1, 5000, 512, "fused-1", "dlib-1"))
	}
	k := newKeys(b)
	s := NewSigner(k.priv)
	var wire, n int
	for b.Loop() {
		msgs, err := s.Chunks(r, DefaultChunkBytes)
		if err != nil {
			b.Fatal(err)
		}
		a := NewAssembler("north", "ik5", k.pub, Limits{})
		var got *Revision
		wire, n = 0, len(msgs)
		for _, m := range msgs {
			wire += len(m)
			if got, err = a.Add(m); err != nil {
				b.Fatal(err)
			}
		}
		if got == nil || len(got.Upserts) != persons {
			b.Fatal("the revision did not come back whole")
		}
	}
	b.ReportMetric(float64(wire), "wire-bytes")
	b.ReportMetric(float64(wire)/persons, "bytes/person")
	b.ReportMetric(float64(n), "chunks")
}
