package track

import (
	"cmp"
	"math"
	"slices"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// minWeight is the weight of a usable frame whose quality score is zero or
// missing (an engine that does not assess quality), so that such frames
// still count, equally.
const minWeight = 0.05

// weight is how much a frame of quality q counts.
func weight(q recognizer.Quality) float64 {
	w := float64(q.Score)
	if !(w >= minWeight) { // also catches NaN
		return minWeight
	}
	return min(w, 1)
}

// scored is one person's score in one frame.
type scored struct {
	person string
	score  float64
}

// evidence is what one usable frame says about who the face is.
type evidence struct {
	w      float64
	floor  float64  // the lowest score listed: a bound for anyone not listed
	scores []scored // distinct persons, best first (ties by PersonID)
}

func (e *evidence) top() string { return e.scores[0].person }

// makeEvidence turns a frame's gallery matches into evidence, reusing buf.
// Entries without a person or with a score that is not finite are ignored,
// and a person listed twice keeps its better score. ok is false when no
// entry is left.
func makeEvidence(q recognizer.Quality, ms []gallery.Match, buf []scored) (e evidence, ok bool) {
	buf = buf[:0]
	for _, m := range ms {
		s := float64(m.Score)
		if m.PersonID == "" || math.IsNaN(s) || math.IsInf(s, 0) {
			continue
		}
		i := slices.IndexFunc(buf, func(x scored) bool { return x.person == m.PersonID })
		if i < 0 {
			buf = append(buf, scored{m.PersonID, s})
		} else if s > buf[i].score {
			buf[i].score = s
		}
	}
	if len(buf) == 0 {
		return evidence{scores: buf}, false
	}
	slices.SortFunc(buf, func(a, b scored) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.person, b.person)
	})
	return evidence{w: weight(q), floor: buf[len(buf)-1].score, scores: buf}, true
}

// standing is one person's accumulated evidence.
type standing struct {
	person string
	// excess is Σ w·(score − floor) over the frames listing the person.
	// The person's weighted score sum is base + excess, so excess alone
	// ranks persons and their differences are the margins.
	excess float64
	votes  float64 // Σ w over the frames where the person is the best match
	tops   int     // how many frames those are
	best   *Best   // the highest-quality of those frames
}

// tally accumulates evidence frames.
type tally struct {
	frames int
	weight float64 // Σ w
	base   float64 // Σ w·floor
	people []standing
	// index finds a standing once there are too many to scan: a long
	// track collects a different handful of impostors every few frames.
	index map[string]int
}

// scanLimit is how many standings are searched linearly.
const scanLimit = 32

func (t *tally) reset() {
	t.frames, t.weight, t.base = 0, 0, 0
	t.people = t.people[:0]
	clear(t.index)
}

func (t *tally) standing(person string) *standing {
	if len(t.people) > scanLimit {
		if t.index == nil {
			t.index = make(map[string]int, 2*len(t.people))
		}
		if len(t.index) == 0 {
			for i := range t.people {
				t.index[t.people[i].person] = i
			}
		}
		if i, ok := t.index[person]; ok {
			return &t.people[i]
		}
		t.index[person] = len(t.people)
	} else {
		for i := range t.people {
			if t.people[i].person == person {
				return &t.people[i]
			}
		}
	}
	t.people = append(t.people, standing{person: person})
	return &t.people[len(t.people)-1]
}

// add counts e and returns the standing of its best match.
func (t *tally) add(e *evidence) *standing {
	t.frames++
	t.weight += e.w
	t.base += e.w * e.floor
	for _, s := range e.scores {
		t.standing(s.person).excess += e.w * (s.score - e.floor)
	}
	top := t.standing(e.top())
	top.votes += e.w
	top.tops++
	return top
}

// verdict is the outcome of judging a tally.
type verdict struct {
	person   string
	runnerUp string // empty when nobody else was ever listed
	mean     float64
	margin   float64 // +Inf without a runner-up
	frames   int
	tops     int
	ok       bool
}

// rule holds the limits a verdict must meet.
type rule struct {
	minTops   int
	minShare  float64
	threshold float64
	minMargin float64
}

// judge names the leader, the person with the largest weighted score sum
// (ties to the smaller PersonID), and says whether it meets r.
func (t *tally) judge(r rule) verdict {
	if t.frames == 0 || len(t.people) == 0 {
		return verdict{}
	}
	ahead := func(a, b *standing) bool {
		if a.excess != b.excess {
			return a.excess > b.excess
		}
		return a.person < b.person
	}
	var lead, second *standing
	for i := range t.people {
		s := &t.people[i]
		switch {
		case lead == nil || ahead(s, lead):
			lead, second = s, lead
		case second == nil || ahead(s, second):
			second = s
		}
	}
	v := verdict{
		person: lead.person,
		mean:   (t.base + lead.excess) / t.weight,
		margin: math.Inf(1),
		frames: t.frames,
		tops:   lead.tops,
	}
	if second != nil {
		v.runnerUp = second.person
		v.margin = (lead.excess - second.excess) / t.weight
	}
	v.ok = lead.tops >= r.minTops &&
		lead.votes >= r.minShare*t.weight &&
		v.mean >= r.threshold &&
		v.margin >= r.minMargin
	return v
}

// window keeps the most recent evidence frames, for deciding whether a
// decided identity should change.
type window struct {
	ring []evidence
	next int
	n    int
	t    tally
}

func newWindow(size int) window { return window{ring: make([]evidence, size)} }

func (w *window) full() bool { return w.n == len(w.ring) }

// push stores a copy of e, dropping the oldest frame when full.
func (w *window) push(e *evidence) {
	slot := &w.ring[w.next]
	slot.w, slot.floor = e.w, e.floor
	slot.scores = append(slot.scores[:0], e.scores...)
	w.next = (w.next + 1) % len(w.ring)
	w.n = min(w.n+1, len(w.ring))
}

// judge tallies the stored frames afresh and judges them by r.
func (w *window) judge(r rule) verdict {
	w.t.reset()
	for i := range w.n {
		w.t.add(&w.ring[i])
	}
	return w.t.judge(r)
}
