package track

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

const (
	testModel recognizer.ModelID = "test-embedder"
	testDim                      = 128
	// fps of the synthetic camera.
	fps = 10
	// Cosine of a frame's embedding to its person's centre: a sharp frontal
	// frame, and a blurred or turned one.
	goodCos = 0.7
	poorCos = 0.5
)

var t0 = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// at is the time of frame n (frames count from 1).
func at(n int) time.Time { return t0.Add(time.Duration(n-1) * time.Second / fps) }

// world is an enrolled population and a way to film its members: every
// person has a centre direction, enrolled persons have three templates
// around it (cosine 0.8), and each observed frame of a person is another
// draw around the centre, matched against a real gallery snapshot.
type world struct {
	rng     *rand.Rand
	snap    *gallery.Snapshot
	centres map[string][]float32
}

func newWorld(t testing.TB, seed uint64, enrolled int) *world {
	t.Helper()
	w := &world{rng: rand.New(rand.NewPCG(seed, seed+1)), centres: map[string][]float32{}}
	var ts []gallery.Template
	for i := 1; i <= enrolled; i++ {
		id := fmt.Sprintf("p%02d", i)
		c := w.centre(id)
		for j := range 3 {
			ts = append(ts, gallery.Template{PersonID: id, TemplateID: fmt.Sprintf("%s-%d", id, j), Vec: near(w.rng, c, 0.8)})
		}
	}
	s, err := gallery.New(testModel, testDim, ts, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.snap = s
	return w
}

// centre returns a person's centre, inventing one for a stranger.
func (w *world) centre(person string) []float32 {
	c, ok := w.centres[person]
	if !ok {
		c = recognizer.RandomUnit(w.rng, testDim)
		w.centres[person] = c
	}
	return c
}

// see films person once: an observation at box with an embedding at cosine
// cos to the person's centre, matched against the gallery (top 5). Good
// frames pass the quality gates; others carry a reason.
func (w *world) see(t testing.TB, frame int, person string, box recognizer.Rect, good bool) Observation {
	t.Helper()
	cos, q := goodCos, recognizer.Quality{Score: 0.8, InterOcular: 45}
	if !good {
		cos, q = poorCos, recognizer.Quality{Score: 0.15, InterOcular: 14, Reason: "face too small: 14 px between the eyes, need 16"}
	}
	e := recognizer.Embedding{Model: testModel, Vec: near(w.rng, w.centre(person), cos)}
	ms, err := w.snap.Search(e, 5)
	if err != nil {
		t.Fatal(err)
	}
	return Observation{
		Frame:     uint64(frame),
		Face:      recognizer.Face{Box: box, Score: 0.9, Quality: q},
		Usability: recognizer.Usability{Usable: q.Usable(), Reason: q.Reason, Score: q.Score},
		Embedding: e,
		Matches:   ms,
		Crop:      Crop{Ref: fmt.Sprintf("%s@%d", person, frame)},
	}
}

// near returns a unit vector at cosine about cos to base.
func near(rng *rand.Rand, base []float32, cos float64) []float32 {
	n := recognizer.RandomUnit(rng, len(base))
	// Remove n's component along base so the cosine is exact.
	d := float64(recognizer.Dot(n, base))
	sin := math.Sqrt(1 - cos*cos)
	v := make([]float32, len(base))
	var ss float64
	for i := range v {
		o := float64(n[i]) - d*float64(base[i])
		v[i] = float32(o)
		ss += o * o
	}
	inv := 1 / math.Sqrt(ss)
	for i := range v {
		v[i] = float32(cos*float64(base[i]) + sin*float64(v[i])*inv)
	}
	recognizer.Normalize(v)
	return v
}

// box is an 80-pixel face at x, y.
func box(x, y float32) recognizer.Rect { return recognizer.Rect{X: x, Y: y, W: 80, H: 80} }

// frame is the input of one Update.
type frame struct {
	n   int
	obs []Observation
}

// run feeds frames to a tracker, then flushes it after every track has
// aged out, and returns the log of events.
func run(tr *Tracker, frames []frame) ([]string, []Event) {
	var all []Event
	last := 0
	for _, f := range frames {
		all = append(all, tr.Update(at(f.n), f.obs)...)
		last = f.n
	}
	all = append(all, tr.Flush(at(last).Add(tr.Config().MaxAge+time.Millisecond))...)
	return eventLog(all), all
}

// eventLog writes events compactly: "f3 decide #1 p01".
func eventLog(evs []Event) []string {
	var out []string
	for _, e := range evs {
		var s string
		switch e.Kind {
		case TrackStarted:
			s = fmt.Sprintf("f%d start #%d", e.Frame, e.Track)
		case IdentityDecided:
			s = fmt.Sprintf("f%d decide #%d %s", e.Frame, e.Track, e.Identity.PersonID)
			if e.Identity.Replaces != "" {
				s += " replacing " + e.Identity.Replaces
			}
		case TrackEnded:
			s = fmt.Sprintf("end #%d %s", e.Track, e.Summary.Outcome)
			if e.Summary.Identity != nil {
				s += " " + e.Summary.Identity.PersonID
			}
		default:
			s = e.Kind.String()
		}
		out = append(out, s)
	}
	return out
}

func diffLog(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n  got  %q\n  want %q", got, want)
	}
}

// find returns the events of kind k.
func find(evs []Event, k EventKind) []Event {
	var out []Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}
