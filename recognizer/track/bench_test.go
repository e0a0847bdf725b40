package track

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// BenchmarkUpdate10Faces is one camera frame with ten people in view, each
// with a 512-d embedding and five gallery matches, after their tracks are
// established and decided: the steady state of a busy corridor.
func BenchmarkUpdate10Faces(b *testing.B) {
	const (
		faces  = 10
		dim    = 512
		frames = 64 // distinct frames, replayed in a loop
	)
	rng := rand.New(rand.NewPCG(7, 8))
	centres := make([][]float32, faces)
	for i := range centres {
		centres[i] = recognizer.RandomUnit(rng, dim)
	}
	script := make([][]Observation, frames)
	for f := range script {
		for i := range faces {
			noise := recognizer.RandomUnit(rng, dim)
			v := make([]float32, dim)
			for j := range v {
				v[j] = 0.7*centres[i][j] + 0.7*noise[j]
			}
			recognizer.Normalize(v)
			ms := []gallery.Match{{PersonID: fmt.Sprintf("p%02d", i), Score: 0.55}}
			for k := 1; k < 5; k++ {
				ms = append(ms, gallery.Match{PersonID: fmt.Sprintf("q%02d", (i+k)%faces), Score: 0.25 - 0.02*float32(k)})
			}
			// Ten faces in two rows, drifting slowly to the right.
			x := float32(130*(i%5) + f%8)
			y := float32(200 * (i / 5))
			script[f] = append(script[f], Observation{
				Frame:     uint64(f),
				Face:      recognizer.Face{Box: recognizer.Rect{X: x, Y: y, W: 90, H: 90}, Score: 0.9, Quality: recognizer.Quality{Score: 0.8}},
				Usability: recognizer.Usability{Usable: true, Score: 0.8},
				Embedding: recognizer.Embedding{Model: testModel, Vec: v},
				Matches:   ms,
				Crop:      Crop{Ref: fmt.Sprint(f, "/", i)},
			})
		}
	}
	tr := New(Config{Threshold: 0.35})
	now := t0
	step := time.Second / fps
	for f := range frames {
		tr.Update(now, script[f])
		now = now.Add(step)
	}
	if st := tr.Stats(); st.Tracks != faces {
		b.Fatalf("%d tracks after warm-up, want %d", st.Tracks, faces)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if evs := tr.Update(now, script[i%frames]); len(evs) != 0 {
			b.Fatalf("steady state produced events: %v", eventLog(evs))
		}
		now = now.Add(step)
	}
}
