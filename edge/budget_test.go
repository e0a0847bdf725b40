package edge

import (
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
	"github.com/dozor-edge/dozor/recognizer/track"
)

// sceneEngine finds the faces of its current scene, each usable and of
// the quality given, and embeds those want accepts as its person.
type sceneEngine struct {
	faces  []sceneFace
	wanted []bool // want's answers for the latest frame
}

type sceneFace struct {
	x, y    float32
	quality float32
	person  []float32
}

func (*sceneEngine) Detect(*recognizer.Image) ([]recognizer.Face, error) { return nil, nil }
func (*sceneEngine) Model() recognizer.ModelID                           { return "m" }
func (*sceneEngine) Dim() int                                            { return 2 }
func (*sceneEngine) Name() string                                        { return "scene" }
func (*sceneEngine) Close() error                                        { return nil }
func (*sceneEngine) Embed(*recognizer.Image, []recognizer.Face) ([]recognizer.Embedding, error) {
	return nil, nil
}

func (e *sceneEngine) Recognize(_ *recognizer.Image, want func(recognizer.Face) bool) ([]recognizer.Face, []recognizer.Embedding, error) {
	e.wanted = e.wanted[:0]
	var faces []recognizer.Face
	var embs []recognizer.Embedding
	for _, s := range e.faces {
		// 8 px between the eyes here, 24 where the chips are cut.
		f := recognizer.Face{Box: recognizer.Rect{X: s.x, Y: s.y, W: 20, H: 24}, Score: 0.9}
		f.Landmarks = [5]recognizer.Point{{X: s.x + 6, Y: s.y + 10}, {X: s.x + 14, Y: s.y + 10}, {X: s.x + 10, Y: s.y + 14.4},
			{X: s.x + 7, Y: s.y + 18}, {X: s.x + 13, Y: s.y + 18}}
		f.Quality = recognizer.Quality{Score: s.quality, InterOcular: 24, Sharpness: 100}
		emb := recognizer.Embedding{Model: "m"}
		w := want(f)
		if w {
			emb.Vec = slices.Clone(s.person)
		}
		e.wanted = append(e.wanted, w)
		faces, embs = append(faces, f), append(embs, emb)
	}
	return faces, embs, nil
}

// budgetRig runs frames through the worker's recognize and a tracker, as
// the daemon's workers and sightings loop do, one frame at a time.
type budgetRig struct {
	d   *Daemon
	eng *sceneEngine
	tr  *track.Tracker
	ct  *camTracks
	seq uint64
	log []string // identity decisions
}

func newBudgetRig(t *testing.T, b track.Budget) *budgetRig {
	t.Helper()
	snap, err := gallery.New("m", 2, []gallery.Template{
		{PersonID: "ann", TemplateID: "a", Vec: []float32{1, 0}},
		{PersonID: "bob", TemplateID: "b", Vec: []float32{0, 1}},
	}, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := track.Config{Threshold: 0.5}
	d := &Daemon{m: newMetrics(), snaps: newSnapshots(), holder: gallery.NewHolder(snap), live: &liveTracks{},
		trCfg: cfg, budget: b.WithDefaults(cfg), recErrs: newEvery(slog.New(slog.DiscardHandler), slog.LevelWarn, "", time.Minute)}
	tr := track.New(cfg)
	return &budgetRig{d: d, eng: &sceneEngine{}, tr: tr, ct: &camTracks{tr: tr}}
}

// frame recognises one frame of the scene and returns want's answers.
func (r *budgetRig) frame(faces ...sceneFace) []bool {
	r.eng.faces = faces
	r.seq++
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.seq) * 200 * time.Millisecond)
	f := &camera.Frame{Camera: "c", Seq: r.seq, Captured: at, W: 320, H: 240, Pix: make([]byte, 320*240*3)}
	res := r.d.recognize(r.eng, f)
	r.ct.noteGallery(res.gallery, res.seq)
	for _, ev := range r.tr.Update(res.at, res.obs) {
		if ev.Kind == track.IdentityDecided {
			r.log = append(r.log, fmt.Sprintf("frame %d: track %d is %s", ev.Frame, ev.Track, ev.Identity.PersonID))
		}
	}
	r.d.live.set("c", r.tr.Live(nil))
	return slices.Clone(r.eng.wanted)
}

func (r *budgetRig) count(outcome, reason string) int {
	return int(counter{r.d.m.embeddings.WithLabelValues(outcome, reason)}.Load())
}

// The worker embeds a new face and a track's faces until it is decided;
// then the track's faces are skipped, except a better one and one every
// Refresh frames. A second person's new face is embedded meanwhile.
func TestWorkerEmbeddingBudget(t *testing.T) {
	ann, bob := []float32{1, 0}, []float32{0, 1}
	walk := func(n int, q float32) sceneFace { return sceneFace{x: 40 + float32(n), y: 40, quality: q, person: ann} }

	r := newBudgetRig(t, track.Budget{})
	var got []string
	for n := 1; n <= 12; n++ {
		faces := []sceneFace{walk(n, 0.6)}
		switch n {
		case 6:
			faces[0].quality = 0.9 // a better face than the track has
		case 8, 9:
			faces = append(faces, sceneFace{x: 200, y: 150, quality: 0.6, person: bob}) // someone arrives
		}
		got = append(got, fmt.Sprint(r.frame(faces...)))
	}
	want := []string{
		"[true]", "[true]", "[true]", // new, then undecided until ann is decided at frame 3
		"[false]", "[false]", "[true]", // settled; frame 6 is a better face
		"[false]", "[false true]", "[false true]", // bob arrives: new, then undecided
		"[false]", "[true]", "[false]", // frame 11: the 5th observation since the last embedding
	}
	if !slices.Equal(got, want) {
		t.Errorf("embedded per frame:\n got %v\nwant %v", got, want)
	}
	if !slices.Equal(r.log, []string{"frame 3: track 1 is ann"}) {
		t.Errorf("decisions %q", r.log)
	}
	for _, c := range []struct {
		outcome, reason string
		n               int
	}{
		{"made", "new", 2}, {"made", "undecided", 3}, {"made", "better", 1}, {"made", "refresh", 1},
		{"skipped", "settled", 7}, {"made", "narrow", 0}, {"skipped", "unusable", 0},
	} {
		if n := r.count(c.outcome, c.reason); n != c.n {
			t.Errorf("embeddings %s %s: %d, want %d", c.outcome, c.reason, n, c.n)
		}
	}
}

// With Refresh 1 every usable face is embedded, as before the budget.
func TestWorkerEmbeddingBudgetOff(t *testing.T) {
	r := newBudgetRig(t, track.Budget{Refresh: 1})
	for n := 1; n <= 8; n++ {
		if got := r.frame(sceneFace{x: 40, y: 40, quality: 0.6, person: []float32{1, 0}}); !got[0] {
			t.Fatalf("frame %d: a face was skipped", n)
		}
	}
	if n := r.count("skipped", "settled"); n != 0 {
		t.Errorf("%d faces skipped as settled", n)
	}
}

// Two faces over one settled track: the first takes the track, the second
// is embedded so that the tracker can tell them apart.
func TestWorkerEmbeddingBudgetSharedTrack(t *testing.T) {
	r := newBudgetRig(t, track.Budget{})
	ann := []float32{1, 0}
	for range 4 {
		r.frame(sceneFace{x: 40, y: 40, quality: 0.6, person: ann})
	}
	got := r.frame(sceneFace{x: 40, y: 40, quality: 0.6, person: ann}, sceneFace{x: 44, y: 42, quality: 0.6, person: ann})
	if !slices.Equal(got, []bool{false, true}) {
		t.Errorf("embedded %v, want [false true]", got)
	}
}

// A stranger's track, settled as nobody enrolled, is judged afresh when
// the gallery changes (here: she is enrolled while in view): her next
// faces are embedded as an undecided track's and she is named from them
// alone, as a new track would be.
func TestWorkerEmbedsAfterGalleryChange(t *testing.T) {
	cara := []float32{-0.6, -0.8}
	r := newBudgetRig(t, track.Budget{Refresh: 20})
	face := sceneFace{x: 40, y: 40, quality: 0.6, person: cara}
	var got []bool
	for range 5 {
		got = append(got, r.frame(face)[0])
	}
	if !slices.Equal(got, []bool{true, true, true, false, false}) {
		t.Fatalf("before the enrolment, embedded %v: want 3 frames, then the track settled as unknown", got)
	}
	snap, err := gallery.New("m", 2, []gallery.Template{
		{PersonID: "ann", TemplateID: "a", Vec: []float32{1, 0}},
		{PersonID: "bob", TemplateID: "b", Vec: []float32{0, 1}},
		{PersonID: "cara", TemplateID: "c", Vec: cara},
	}, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.d.holder.Swap(snap)
	got = got[:0]
	for range 4 {
		got = append(got, r.frame(face)[0])
	}
	// The first frame after the swap is planned from the copy made before
	// it, so only the tracker's reset makes the next ones undecided.
	if !slices.Equal(got, []bool{false, true, true, true}) {
		t.Errorf("after the enrolment, embedded %v, want [false true true true]", got)
	}
	if !slices.Equal(r.log, []string{"frame 9: track 1 is cara"}) {
		t.Errorf("decisions %q, want cara named from the three faces after her enrolment", r.log)
	}
}
