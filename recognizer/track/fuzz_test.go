package track

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// FuzzUpdate drives a tracker with frames decoded from arbitrary bytes,
// including clock steps backwards, broken boxes, NaN embeddings and scores,
// and checks the life cycle of every track it reports.
func FuzzUpdate(f *testing.F) {
	f.Add([]byte{1, 2, 10, 10, 20, 0x81, 1, 200, 1, 2, 10, 12, 20, 0x81, 1, 200, 1, 2, 10, 14, 20, 0x81, 1, 200})
	f.Add([]byte{3, 4, 50, 50, 30, 0xff, 2, 180, 0, 9, 60, 50, 30, 0x7f, 3, 90, 250, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255})
	dirs := make([][]float32, 4)
	for i := range dirs {
		dirs[i] = make([]float32, 8)
		dirs[i][i] = 1
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		tr := New(Config{MaxAge: 500 * time.Millisecond, Threshold: 0.3, ConfirmFrames: 2, MinFrames: 2})
		now := t0
		var evs []Event
		for frameNo := uint64(1); len(data) > 0 && frameNo < 200; frameNo++ {
			step := time.Duration(int8(next())) * 20 * time.Millisecond // may step back
			now = now.Add(step)
			var obs []Observation
			for range next() % 4 {
				shape := next()
				b := recognizer.Rect{X: float32(next()) * 4, Y: float32(next()) * 4, W: float32(next()%64) + 1, H: 40}
				if shape&0x40 != 0 {
					b.W = float32(math.NaN())
				}
				q := recognizer.Quality{Score: float32(shape&0x0f) / 15}
				if shape&0x80 == 0 {
					q.Reason = "blurred"
				}
				who := next()
				v := append([]float32(nil), dirs[who%4]...)
				if who&0x80 != 0 {
					v[0] = float32(math.NaN())
				}
				score := float32(next()) / 255
				if score > 0.99 {
					score = float32(math.Inf(1))
				}
				ms := []gallery.Match{
					{PersonID: fmt.Sprint("p", who%4), Score: score},
					{PersonID: fmt.Sprint("p", (who+1)%4), Score: score / 2},
				}
				u := recognizer.Usability{Usable: q.Usable(), Reason: q.Reason, Score: q.Score}
				obs = append(obs, Observation{Frame: frameNo, Face: recognizer.Face{Box: b, Quality: q}, Usability: u,
					Embedding: recognizer.Embedding{Model: testModel, Vec: v}, Matches: ms})
			}
			evs = append(evs, tr.Update(now, obs)...)
		}
		evs = append(evs, tr.EndAll(now)...)
		checkLifeCycles(t, evs)
		if st := tr.Stats(); st.Tracks+st.Tentative != 0 {
			t.Fatalf("tracks left after EndAll: %+v", st)
		}
	})
}

// checkLifeCycles: each track starts once before anything else happens to
// it, is decided at most once per person, ends exactly once, and its end
// agrees with its decisions; event times never go backwards.
func checkLifeCycles(t *testing.T, evs []Event) {
	t.Helper()
	type life struct {
		started, ended bool
		decided        map[string]bool
		last           string
	}
	lives := map[ID]*life{}
	var prev time.Time
	for i, e := range evs {
		if e.Time.Before(prev) {
			t.Fatalf("event %d goes back in time: %v", i, eventLog(evs))
		}
		prev = e.Time
		l := lives[e.Track]
		switch e.Kind {
		case TrackStarted:
			if l != nil {
				t.Fatalf("track %d started twice: %v", e.Track, eventLog(evs))
			}
			lives[e.Track] = &life{started: true, decided: map[string]bool{}}
		case IdentityDecided:
			if l == nil || l.ended || l.decided[e.Identity.PersonID] {
				t.Fatalf("bad decision of track %d: %v", e.Track, eventLog(evs))
			}
			id := e.Identity
			if id.Frames < 2 || id.Votes < 2 || !(id.MeanScore >= 0.3) || math.IsNaN(float64(id.Margin)) || id.Best.PersonID != id.PersonID {
				t.Fatalf("decision without its evidence: %+v", id)
			}
			l.decided[id.PersonID] = true
			l.last = id.PersonID
		case TrackEnded:
			if l == nil || l.ended {
				t.Fatalf("bad end of track %d: %v", e.Track, eventLog(evs))
			}
			l.ended = true
			s := e.Summary
			switch {
			case (s.Outcome == Identified) != (s.Identity != nil):
				t.Fatalf("outcome %v with identity %v", s.Outcome, s.Identity)
			case s.Identity != nil && !l.decided[s.Identity.PersonID]:
				t.Fatalf("track %d ends as %s, never announced", e.Track, s.Identity.PersonID)
			case s.Identity == nil && len(l.decided) > 0:
				t.Fatalf("track %d was decided but ends %v", e.Track, s.Outcome)
			case s.Frames < s.UsableFrames || s.LastSeen.Before(s.FirstSeen):
				t.Fatalf("summary %+v", s)
			}
		default:
			t.Fatalf("event kind %v", e.Kind)
		}
	}
	for id, l := range lives {
		if !l.ended {
			t.Fatalf("track %d never ended", id)
		}
	}
}
