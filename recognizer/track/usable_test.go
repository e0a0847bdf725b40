package track

import (
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
)

// backOfHead is the gate's verdict on a face it cannot identify.
var backOfHead = recognizer.Usability{Reason: "detector score 0.41 below 0.75", Score: 0.02}

// A track of faces the gate rejected is never named, however well they
// match someone: the gate says the face cannot be identified, so a high
// score there is a coincidence, not evidence. The track lives on by its
// box and ends unassessed.
func TestUnusableFacesNameNobody(t *testing.T) {
	for _, c := range []struct {
		name string
		u    recognizer.Usability
	}{
		{"rejected by the gate", backOfHead},
		// A caller that never ran the gate leaves the zero value.
		{"not assessed", recognizer.Usability{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, 7, 20)
			var fs []frame
			for n := 1; n <= 12; n++ {
				o := w.scripted(t, n, "p01", box(100+float32(4*n), 200), m("p01", 0.95), m("p02", 0.1))
				o.Usability = c.u
				fs = append(fs, frame{n, []Observation{o}})
			}
			got, evs := run(New(testConfig), fs)
			diffLog(t, got, []string{"f2 start #1", "end #1 unassessed"})
			s := find(evs, TrackEnded)[0].Summary
			if s.Frames != 12 || s.UsableFrames != 0 || s.Nearest != "" {
				t.Errorf("summary: %d frames, %d usable, nearest %q; want 12, 0 and nobody", s.Frames, s.UsableFrames, s.Nearest)
			}
		})
	}
}

// A track that starts with unusable faces waits for usable ones and
// decides from them alone, even when the unusable ones matched someone
// else better.
func TestTrackWaitsForUsableFaces(t *testing.T) {
	w := newWorld(t, 8, 20)
	var fs []frame
	for n := 1; n <= 6; n++ {
		o := w.scripted(t, n, "p04", box(100+float32(4*n), 200), m("p09", 0.9), m("p04", 0.3))
		o.Usability = backOfHead
		fs = append(fs, frame{n, []Observation{o}})
	}
	for n := 7; n <= 10; n++ {
		fs = append(fs, frame{n, []Observation{w.see(t, n, "p04", box(100+float32(4*n), 200), true)}})
	}
	got, evs := run(New(testConfig), fs)
	diffLog(t, got, []string{"f2 start #1", "f9 decide #1 p04", "end #1 identified p04"})
	id := find(evs, IdentityDecided)[0].Identity
	if id.Frames != 3 || id.Votes != 3 || id.Best.Frame < 7 || !id.Best.Usability.Usable {
		t.Errorf("decided from %d frames (%d votes), best frame %d usable %v; want the 3 usable frames 7-9",
			id.Frames, id.Votes, id.Best.Frame, id.Best.Usability.Usable)
	}
	s := find(evs, TrackEnded)[0].Summary
	if s.Frames != 10 || s.UsableFrames != 4 || s.Best.Frame < 7 {
		t.Errorf("summary: %d frames, %d usable, best frame %d; want 10, 4 and a usable one", s.Frames, s.UsableFrames, s.Best.Frame)
	}
}
