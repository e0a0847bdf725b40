package track

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// testConfig suits the synthetic world: genuine scores are about 0.55,
// the best impostor of 20 enrolled persons about 0.2.
var testConfig = Config{MaxAge: time.Second, Threshold: 0.35}

// scripted films the face of person with the gallery's answer replaced by
// ms, to stage answers the synthetic gallery would rarely give.
func (w *world) scripted(t testing.TB, n int, person string, b recognizer.Rect, ms ...gallery.Match) Observation {
	o := w.see(t, n, person, b, true)
	o.Matches = ms
	return o
}

func m(person string, score float32) gallery.Match {
	return gallery.Match{PersonID: person, Score: score, RawScore: score}
}

// endedAt checks that each track ended at its x: two tracks that swapped
// faces end where the other person went.
func endedAt(wantX map[ID]float32) func(*testing.T, []Event) {
	return func(t *testing.T, evs []Event) {
		for _, e := range find(evs, TrackEnded) {
			if x := e.Summary.LastBox.X; x != wantX[e.Track] {
				t.Errorf("track %d ended at x=%v, want %v: the tracks swapped faces", e.Track, x, wantX[e.Track])
			}
		}
	}
}

func TestScenarios(t *testing.T) {
	cases := []struct {
		name   string
		cfg    Config
		frames func(t *testing.T, w *world) []frame
		want   []string
		check  func(t *testing.T, evs []Event)
	}{
		{
			name: "one person walks past",
			frames: func(t *testing.T, w *world) []frame {
				var fs []frame
				for n := 1; n <= 20; n++ {
					fs = append(fs, frame{n, []Observation{w.see(t, n, "p01", box(float32(40*n), 200), true)}})
				}
				return fs
			},
			want: []string{"f2 start #1", "f3 decide #1 p01", "end #1 identified p01"},
			check: func(t *testing.T, evs []Event) {
				id := find(evs, IdentityDecided)[0].Identity
				if id.Frames != 3 || id.Votes != 3 || id.Replaces != "" {
					t.Errorf("decision rests on %d frames, %d votes, replaces %q; want 3, 3, none", id.Frames, id.Votes, id.Replaces)
				}
				if !(id.MeanScore >= 0.35) || !(id.Margin >= 0.035) || id.RunnerUp == "" || id.RunnerUp == "p01" {
					t.Errorf("decision evidence %+v", id)
				}
				if id.Best.PersonID != "p01" || !strings.HasPrefix(id.Best.Crop.Ref, "p01@") || id.Best.Frame > 3 {
					t.Errorf("decision best observation %+v", id.Best)
				}
				s := find(evs, TrackEnded)[0].Summary
				if s.Frames != 20 || s.UsableFrames != 20 || s.FirstFrame != 1 || s.LastFrame != 20 ||
					!s.FirstSeen.Equal(at(1)) || !s.LastSeen.Equal(at(20)) || s.LastBox != box(800, 200) {
					t.Errorf("summary %+v", s)
				}
			},
		},
		{
			name: "two people cross paths",
			frames: func(t *testing.T, w *world) []frame {
				var fs []frame
				for n := 1; n <= 20; n++ {
					// Same height, opposite directions: their boxes
					// coincide around frame 10.
					a := w.see(t, n, "p01", box(float32(40*n), 200), true)
					b := w.see(t, n, "p02", box(float32(800-40*n), 204), true)
					fs = append(fs, frame{n, []Observation{a, b}})
				}
				return fs
			},
			want: []string{
				"f2 start #1", "f2 start #2", "f3 decide #1 p01", "f3 decide #2 p02",
				"end #1 identified p01", "end #2 identified p02",
			},
			check: endedAt(map[ID]float32{1: 800, 2: 0}),
		},
		{
			name: "two people meet and turn back",
			frames: func(t *testing.T, w *world) []frame {
				// Both walk towards each other, stand face to face, then
				// each returns the way it came: their motion predicts a
				// swap that only the embeddings prevent.
				xa := []float32{100, 140, 180, 220, 260, 290, 300, 300, 290, 250, 210, 170, 130, 90}
				var fs []frame
				for i, x := range xa {
					n := i + 1
					a := w.see(t, n, "p01", box(x, 200), true)
					b := w.see(t, n, "p02", box(610-x, 200), true)
					fs = append(fs, frame{n, []Observation{b, a}})
				}
				return fs
			},
			want: []string{
				"f2 start #1", "f2 start #2", "f3 decide #1 p02", "f3 decide #2 p01",
				"end #1 identified p02", "end #2 identified p01",
			},
			check: endedAt(map[ID]float32{1: 520, 2: 90}),
		},
		{
			name: "two poor frames then good ones",
			frames: func(t *testing.T, w *world) []frame {
				var fs []frame
				for n := 1; n <= 8; n++ {
					fs = append(fs, frame{n, []Observation{w.see(t, n, "p03", box(300+float32(5*n), 150), n > 2)}})
				}
				return fs
			},
			want: []string{"f2 start #1", "f5 decide #1 p03", "end #1 identified p03"},
			check: func(t *testing.T, evs []Event) {
				id := find(evs, IdentityDecided)[0].Identity
				if id.Frames != 3 || id.Best.Frame < 3 || !id.Best.Face.Quality.Usable() {
					t.Errorf("decision used %d frames, best frame %d (%q); want 3 good frames", id.Frames, id.Best.Frame, id.Best.Face.Quality.Reason)
				}
				s := find(evs, TrackEnded)[0].Summary
				if s.Frames != 8 || s.UsableFrames != 6 || !s.Best.Face.Quality.Usable() {
					t.Errorf("summary: %d frames, %d usable, best usable %v", s.Frames, s.UsableFrames, s.Best.Face.Quality.Usable())
				}
			},
		},
		{
			name: "occlusion shorter than max age",
			frames: func(t *testing.T, w *world) []frame {
				var fs []frame
				for n := 1; n <= 5; n++ {
					fs = append(fs, frame{n, []Observation{w.see(t, n, "p01", box(float32(40*n), 200), true)}})
				}
				// Hidden for 0.8 s behind a pillar, where the person
				// stopped: the face comes back well away from where its
				// motion predicts.
				for n := 6; n <= 13; n++ {
					fs = append(fs, frame{n, nil})
				}
				for n := 14; n <= 18; n++ {
					fs = append(fs, frame{n, []Observation{w.see(t, n, "p01", box(float32(240+10*(n-14)), 210), true)}})
				}
				return fs
			},
			want: []string{"f2 start #1", "f3 decide #1 p01", "end #1 identified p01"},
			check: func(t *testing.T, evs []Event) {
				if s := find(evs, TrackEnded)[0].Summary; s.Frames != 10 {
					t.Errorf("track has %d frames, want 10", s.Frames)
				}
			},
		},
		{
			name: "occlusion longer than max age",
			frames: func(t *testing.T, w *world) []frame {
				var fs []frame
				for n := 1; n <= 5; n++ {
					fs = append(fs, frame{n, []Observation{w.see(t, n, "p01", box(float32(40*n), 200), true)}})
				}
				// 1.5 s without the face: the track ends at the first
				// frame more than a second after it was last seen.
				for n := 6; n <= 19; n++ {
					fs = append(fs, frame{n, nil})
				}
				for n := 20; n <= 24; n++ {
					fs = append(fs, frame{n, []Observation{w.see(t, n, "p01", box(200, 200), true)}})
				}
				return fs
			},
			want: []string{
				"f2 start #1", "f3 decide #1 p01", "end #1 identified p01",
				"f21 start #2", "f22 decide #2 p01", "end #2 identified p01",
			},
			check: func(t *testing.T, evs []Event) {
				end := find(evs, TrackEnded)[0]
				if !end.Time.Equal(at(16)) || !end.Summary.LastSeen.Equal(at(5)) {
					t.Errorf("first track ended at %v (last seen %v), want frame 16's time (frame 5's)", end.Time, end.Summary.LastSeen)
				}
			},
		},
		{
			name: "unknown face",
			frames: func(t *testing.T, w *world) []frame {
				var fs []frame
				for n := 1; n <= 15; n++ {
					fs = append(fs, frame{n, []Observation{w.see(t, n, "visitor", box(500-float32(20*n), 100), true)}})
				}
				return fs
			},
			want: []string{"f2 start #1", "end #1 unknown"},
			check: func(t *testing.T, evs []Event) {
				s := find(evs, TrackEnded)[0].Summary
				if s.Identity != nil || s.Nearest == "" || !(s.NearestScore < 0.35) || s.Best.Crop.Ref == "" {
					t.Errorf("unknown summary %+v", s)
				}
			},
		},
		{
			name: "nobody enrolled",
			frames: func(t *testing.T, w *world) []frame {
				var fs []frame
				for n := 1; n <= 6; n++ {
					o := w.see(t, n, "p01", box(100, 100), true)
					o.Matches = nil
					fs = append(fs, frame{n, []Observation{o}})
				}
				return fs
			},
			want: []string{"f2 start #1", "end #1 unknown"},
		},
		{
			name: "too few usable frames",
			frames: func(t *testing.T, w *world) []frame {
				var fs []frame
				for n := 1; n <= 6; n++ {
					fs = append(fs, frame{n, []Observation{w.see(t, n, "p01", box(100, 100), n%3 == 0)}})
				}
				return fs
			},
			want: []string{"f2 start #1", "end #1 unassessed"},
		},
		{
			name: "one-frame false detection",
			frames: func(t *testing.T, w *world) []frame {
				fs := []frame{{1, []Observation{w.see(t, 1, "p05", box(10, 10), true)}}}
				for n := 2; n <= 15; n++ {
					fs = append(fs, frame{n, nil})
				}
				return fs
			},
			want: nil,
		},
		{
			name: "identity flickers between two enrolled people",
			frames: func(t *testing.T, w *world) []frame {
				var fs []frame
				for n := 1; n <= 16; n++ {
					a, b := m("p01", 0.50), m("p02", 0.47)
					if n%2 == 0 {
						a.Score, b.Score = 0.47, 0.50
					}
					fs = append(fs, frame{n, []Observation{w.scripted(t, n, "p01", box(200, 200), a, b, m("p09", 0.2))}})
				}
				return fs
			},
			want: []string{"f2 start #1", "end #1 unknown"},
			check: func(t *testing.T, evs []Event) {
				s := find(evs, TrackEnded)[0].Summary
				if s.Nearest != "p01" && s.Nearest != "p02" || !(math.Abs(float64(s.NearestMargin)) < 0.01) {
					t.Errorf("nearest %q margin %v, want p01 or p02 by about nothing", s.Nearest, s.NearestMargin)
				}
			},
		},
		{
			name: "leader is the best match in too few frames",
			frames: func(t *testing.T, w *world) []frame {
				// p01 ends with the larger sum and a clear margin thanks to
				// three very strong frames, but p02 is the best match in
				// the other five: the vote share keeps it unknown.
				var fs []frame
				for n := 1; n <= 8; n++ {
					a, b := m("p01", 0.40), m("p02", 0.42)
					if n > 5 {
						a.Score = 0.9
					}
					fs = append(fs, frame{n, []Observation{w.scripted(t, n, "p01", box(200, 200), a, b, m("p09", 0.1))}})
				}
				return fs
			},
			want: []string{"f2 start #1", "end #1 unknown"},
			check: func(t *testing.T, evs []Event) {
				if s := find(evs, TrackEnded)[0].Summary; s.Nearest != "p01" || !(s.NearestMargin > 0.1) {
					t.Errorf("nearest %q by %v, want p01 by more than 0.1", s.Nearest, s.NearestMargin)
				}
			},
		},
		{
			name: "identity changes on overwhelming evidence, once per person",
			frames: func(t *testing.T, w *world) []frame {
				var fs []frame
				for n := 1; n <= 30; n++ {
					ms := []gallery.Match{m("p01", 0.6), m("p02", 0.2)}
					if n > 5 && n <= 17 {
						ms = []gallery.Match{m("p02", 0.6), m("p01", 0.2)}
					}
					fs = append(fs, frame{n, []Observation{w.scripted(t, n, "p01", box(200, 200), ms...)}})
				}
				return fs
			},
			// p02 fills the six-frame window at frame 11; p01 again at
			// frame 23, which changes the identity back silently.
			want: []string{"f2 start #1", "f3 decide #1 p01", "f11 decide #1 p02 replacing p01", "end #1 identified p01"},
		},
		{
			name: "decision waits for confirmation",
			cfg:  Config{MaxAge: time.Second, Threshold: 0.35, ConfirmFrames: 5},
			frames: func(t *testing.T, w *world) []frame {
				var fs []frame
				for n := 1; n <= 6; n++ {
					fs = append(fs, frame{n, []Observation{w.see(t, n, "p04", box(300, 300), true)}})
				}
				return fs
			},
			want: []string{"f5 start #1", "f5 decide #1 p04", "end #1 identified p04"},
		},
		{
			name: "three faces stand still",
			frames: func(t *testing.T, w *world) []frame {
				var fs []frame
				for n := 1; n <= 6; n++ {
					fs = append(fs, frame{n, []Observation{
						w.see(t, n, "p07", box(100, 100), true),
						w.see(t, n, "visitor", box(300, 100), true),
						w.see(t, n, "p08", box(500, 100), true),
					}})
				}
				return fs
			},
			want: []string{
				"f2 start #1", "f2 start #2", "f2 start #3",
				"f3 decide #1 p07", "f3 decide #3 p08",
				"end #1 identified p07", "end #2 unknown", "end #3 identified p08",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for seed := range uint64(5) {
				w := newWorld(t, 11+seed, 20)
				cfg := c.cfg
				if cfg == (Config{}) {
					cfg = testConfig
				}
				tr := New(cfg)
				got, evs := run(tr, c.frames(t, w))
				diffLog(t, got, c.want)
				if c.check != nil {
					c.check(t, evs)
				}
				if st := tr.Stats(); st.Tracks != 0 || st.Tentative != 0 {
					t.Errorf("tracks left after flushing: %+v", st)
				}
				if t.Failed() {
					t.Fatalf("seed %d", seed)
				}
			}
		})
	}
}

func TestDecisionsOncePerTrackAndPerson(t *testing.T) {
	w := newWorld(t, 3, 20)
	tr := New(testConfig)
	var evs []Event
	for n := 1; n <= 300; n++ {
		var obs []Observation
		for i := range 4 {
			obs = append(obs, w.see(t, n, fmt.Sprintf("p%02d", i+1), box(float32(150*i), 100), n%7 != 0))
		}
		evs = append(evs, tr.Update(at(n), obs)...)
	}
	evs = append(evs, tr.EndAll(at(300))...)
	decided := map[ID][]string{}
	for _, e := range find(evs, IdentityDecided) {
		decided[e.Track] = append(decided[e.Track], e.Identity.PersonID)
	}
	if len(decided) != 4 {
		t.Fatalf("decisions %v, want one for each of 4 tracks", decided)
	}
	for id, ps := range decided {
		if len(ps) != 1 || ps[0] != fmt.Sprintf("p%02d", id) {
			t.Errorf("track %d decided %v", id, ps)
		}
	}
	if n := len(find(evs, TrackEnded)); n != 4 {
		t.Errorf("%d tracks ended, want 4", n)
	}
}

func TestClockAndBadInput(t *testing.T) {
	w := newWorld(t, 5, 5)
	tr := New(testConfig)
	o := func(n int) []Observation { return []Observation{w.see(t, n, "p01", box(100, 100), true)} }
	tr.Update(at(1), o(1))
	tr.Update(at(2), o(2))
	// The camera clock steps back a minute: the tracker holds its time,
	// so the track neither ends nor ages backwards.
	if evs := tr.Update(at(2).Add(-time.Minute), o(3)); len(evs) != 1 || evs[0].Kind != IdentityDecided || !evs[0].Time.Equal(at(2)) {
		t.Errorf("after a backward step: %v", eventLog(evs))
	}
	bad := []recognizer.Rect{
		{X: 1, Y: 1, W: 0, H: 10},
		{X: 1, Y: 1, W: 10, H: -1},
		{X: float32(math.NaN()), Y: 1, W: 10, H: 10},
		{X: 1, Y: float32(math.Inf(1)), W: 10, H: 10},
	}
	for _, b := range bad {
		x := w.see(t, 4, "p02", b, true)
		tr.Update(at(4), []Observation{x})
	}
	// An embedding that cannot be used falls back to the boxes.
	x := o(5)[0]
	x.Embedding.Vec[3] = float32(math.NaN())
	tr.Update(at(5), []Observation{x})
	x = o(6)[0]
	x.Embedding = recognizer.Embedding{Model: "other", Vec: []float32{1, 0}}
	x.Matches = append(x.Matches, gallery.Match{PersonID: "", Score: 0.99}, gallery.Match{PersonID: "p03", Score: float32(math.NaN())})
	tr.Update(at(6), []Observation{x})

	st := tr.Stats()
	if st.Invalid != uint64(len(bad)) || st.ClockSteps != 1 || st.Tracks != 1 || st.Tentative != 0 {
		t.Errorf("stats %+v, want %d invalid, 1 clock step, 1 track", st, len(bad))
	}
	got := eventLog(tr.EndAll(at(7)))
	diffLog(t, got, []string{"end #1 identified p01"})
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string // substring of the error; empty for a valid config
	}{
		{"defaults with threshold", Config{Threshold: 0.4}, ""},
		{"normalised units", Config{Threshold: 4, MinMargin: 0.5}, ""},
		{"no threshold", Config{}, "Threshold"},
		{"NaN threshold", Config{Threshold: float32(math.NaN())}, "Threshold"},
		{"negative max age", Config{Threshold: 0.4, MaxAge: -time.Second}, "MaxAge"},
		{"negative confirm", Config{Threshold: 0.4, ConfirmFrames: -1}, "ConfirmFrames"},
		{"IoU above one", Config{Threshold: 0.4, MinIoU: 1.5}, "MinIoU"},
		{"negative similarity", Config{Threshold: 0.4, MinSimilarity: -0.1}, "MinSimilarity"},
		{"reacquire NaN", Config{Threshold: 0.4, ReacquireSimilarity: float32(math.NaN())}, "ReacquireSimilarity"},
		{"negative frames", Config{Threshold: 0.4, MinFrames: -2}, "MinFrames"},
		{"negative margin", Config{Threshold: 0.4, MinMargin: -0.1}, "MinMargin"},
		{"vote share", Config{Threshold: 0.4, MinVoteShare: 2}, "MinVoteShare"},
		{"switch window too small", Config{Threshold: 0.4, MinFrames: 4, SwitchFrames: 3}, "SwitchFrames"},
		{"switch margin too small", Config{Threshold: 0.4, MinMargin: 0.1, SwitchMargin: 0.05}, "SwitchMargin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one naming %s", err, c.want)
			}
		})
	}
	d := Config{Threshold: 0.4}.WithDefaults()
	if d.MaxAge != DefaultMaxAge || d.MinFrames != 3 || math.Abs(float64(d.MinMargin)-0.04) > 1e-6 || d.SwitchFrames != 6 || d.ConfirmFrames != 2 {
		t.Errorf("defaults %+v", d)
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted a config without a threshold")
		}
	}()
	New(Config{})
}

func TestSeenListsTheTracksOfTheFrame(t *testing.T) {
	w := newWorld(t, 3, 20)
	tr := New(testConfig)
	var seen []Visible
	for n := 1; n <= 30; n++ {
		obs := []Observation{w.see(t, n, "p01", box(0, 100), true)}
		if n <= 10 {
			obs = append(obs, w.see(t, n, "p02", box(300, 100), true))
		}
		tr.Update(at(n), obs)
		seen = tr.Seen(uint64(n), seen[:0])
		if want := 1 + btoi(n <= 10); len(seen) != want {
			t.Fatalf("frame %d: %d tracks seen, want %d: %+v", n, len(seen), want, seen)
		}
	}
	v := seen[0]
	if !v.Confirmed || v.PersonID != "p01" || v.Score <= 0 || v.Box.X != 0 {
		t.Errorf("after 30 frames of p01: %+v, want a confirmed track named p01 with its score", v)
	}
	if got := tr.Seen(31, nil); len(got) != 0 {
		t.Errorf("a frame not yet given lists %d tracks", len(got))
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// GalleryChanged drops the evidence of undecided tracks only: a decided
// track keeps its identity and evidence, and the stranger is judged afresh.
func TestGalleryChangedForgetsUndecidedEvidence(t *testing.T) {
	w := newWorld(t, 7, 3)
	tr := New(testConfig)
	for n := 1; n <= 5; n++ {
		tr.Update(at(n), []Observation{w.see(t, n, "p01", box(100, 100), true), w.see(t, n, "stranger", box(400, 100), true)})
	}
	before := tr.Live(nil)
	tr.GalleryChanged()
	after := tr.Live(nil)
	if len(before) != 2 || len(after) != 2 {
		t.Fatalf("%d tracks before, %d after; want 2", len(before), len(after))
	}
	if !slices.ContainsFunc(before, func(l Live) bool { return l.PersonID == "p01" }) {
		t.Fatalf("p01 was not decided in 5 frames: %+v", before)
	}
	for i := range before {
		b, a := before[i], after[i]
		switch b.PersonID {
		case "p01":
			if a.PersonID != "p01" || a.Evidence != b.Evidence {
				t.Errorf("decided track: %+v after, %+v before; want it unchanged", a, b)
			}
		case "":
			if b.Evidence == 0 || a.Evidence != 0 || a.Nearest != 0 || a.Observations != b.Observations {
				t.Errorf("undecided track: evidence %d -> %d, nearest %v; want its evidence dropped and its observations kept", b.Evidence, a.Evidence, a.Nearest)
			}
		default:
			t.Errorf("track named %q", b.PersonID)
		}
	}
}
