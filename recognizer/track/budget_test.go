package track

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
)

// A budget-driven run: one enrolled person walks through, a second face
// stays still. Each frame asks Match and Budget.Embed what to embed, as the
// recognizer workers do, and strips the embedding of a face the budget
// skips. The first decision is the one made with every face embedded, and
// a settled track costs an embedding only every Refresh frames or for a
// better face.
func TestBudgetSpendsWhereItDecides(t *testing.T) {
	cfg := Config{Threshold: 0.4}
	b := Budget{}.WithDefaults(cfg)
	w := newWorld(t, 7, 3)

	film := func(budget bool) (log []string, reasons map[Reason]int) {
		tr := New(cfg)
		reasons = map[Reason]int{}
		var all []Event
		for n := 1; n <= 30; n++ {
			obs := []Observation{
				w.see(t, n, "p01", box(100+float32(n)*4, 100), true),
				w.see(t, n, "stranger", box(500, 100+float32(n)*3), true),
			}
			if n == 12 {
				obs[0].Face.Quality.Score = 0.95 // a better face
			}
			live := tr.Live(nil)
			for i := range obs {
				k := Match(live, at(n), obs[i].Face.Box, cfg)
				var l *Live
				if k >= 0 {
					l = &live[k]
				}
				ok, why := b.Embed(l, obs[i].Face.Quality.Score)
				reasons[why]++
				if budget && !ok {
					obs[i].Embedding.Vec, obs[i].Matches = nil, nil
				}
			}
			all = append(all, tr.Update(at(n), obs)...)
		}
		all = append(all, tr.Flush(at(30).Add(time.Hour))...)
		return eventLog(all), reasons
	}

	want, _ := film(false)
	got, reasons := film(true)
	// The end summary's frame counts differ; the decisions do not.
	decisions := func(log []string) (out []string) {
		for _, l := range log {
			if !strings.Contains(l, "end") {
				out = append(out, l)
			}
		}
		return out
	}
	diffLog(t, decisions(got), decisions(want))
	if !slices.Contains(got, "end #2 unknown") {
		t.Errorf("the stranger's track did not end unknown: %q", got)
	}
	if reasons[ReasonNew] != 2 || reasons[ReasonUndecided] == 0 || reasons[ReasonBetter] != 1 {
		t.Errorf("reasons %v: want two new, some undecided, one better", reasons)
	}
	// Both tracks settle: the person named, the stranger as unknown after
	// UnknownFrames evidence frames; each is then embedded once every
	// Refresh frames.
	settled, unknown, refresh := reasons[ReasonSettled], reasons[ReasonUnknown], reasons[ReasonRefresh]
	if settled == 0 || unknown == 0 || refresh < 2 || settled+unknown < (b.Refresh-1)*(refresh-2) {
		t.Errorf("reasons %v: a settled track should be embedded about once every %d frames", reasons, b.Refresh)
	}
	if undecided := reasons[ReasonUndecided]; undecided > 2*b.UnknownFrames {
		t.Errorf("reasons %v: the stranger stayed undecided for %d frames, want it settled after %d", reasons, undecided, b.UnknownFrames)
	}
	t.Logf("reasons: %v", reasons)
}

func TestBudgetEmbed(t *testing.T) {
	b := Budget{}.WithDefaults(Config{Threshold: 0.4}) // ClearMargin 0.08
	settled := Live{PersonID: "p", Margin: 0.2, EmbeddedQuality: 0.6, SinceEmbedded: 1}
	for _, tc := range []struct {
		name    string
		l       *Live
		quality float32
		want    bool
		why     Reason
	}{
		{"no track", nil, 0.5, true, ReasonNew},
		{"undecided", &Live{EmbeddedQuality: 0.9}, 0.1, true, ReasonUndecided},
		{"narrow margin", &Live{PersonID: "p", Margin: 0.05, EmbeddedQuality: 0.9}, 0.1, true, ReasonNarrow},
		{"no rival", &Live{PersonID: "p", Margin: float32(math.Inf(1)), EmbeddedQuality: 0.6}, 0.6, false, ReasonSettled},
		{"settled, same quality", &settled, 0.6, false, ReasonSettled},
		{"settled, slightly better", &settled, 0.64, false, ReasonSettled},
		{"settled, better", &settled, 0.66, true, ReasonBetter},
		{"settled, due", &Live{PersonID: "p", Margin: 0.2, EmbeddedQuality: 0.6, SinceEmbedded: 4}, 0.1, true, ReasonRefresh},
		// Followed for 40 observations: the refresh waits 10 of them.
		{"settled long, not yet due", &Live{PersonID: "p", Margin: 0.2, EmbeddedQuality: 0.6, SinceEmbedded: 8, Observations: 40}, 0.1, false, ReasonSettled},
		{"settled long, due", &Live{PersonID: "p", Margin: 0.2, EmbeddedQuality: 0.6, SinceEmbedded: 9, Observations: 40}, 0.1, true, ReasonRefresh},
		// Followed for 400: the wait stops at MaxRefresh, 25.
		{"settled very long, not yet due", &Live{PersonID: "p", Margin: 0.2, EmbeddedQuality: 0.6, SinceEmbedded: 23, Observations: 400}, 0.1, false, ReasonSettled},
		{"settled very long, due", &Live{PersonID: "p", Margin: 0.2, EmbeddedQuality: 0.6, SinceEmbedded: 24, Observations: 400}, 0.1, true, ReasonRefresh},
		{"settled very long, better face", &Live{PersonID: "p", Margin: 0.2, EmbeddedQuality: 0.6, SinceEmbedded: 2, Observations: 400}, 0.7, true, ReasonBetter},
		// Threshold 0.4 − ClearMargin 0.08: a track led below 0.32 over
		// three evidence frames (MinFrames) is nobody enrolled.
		{"far from everyone, too few frames", &Live{Evidence: 2, Nearest: 0.1, EmbeddedQuality: 0.6}, 0.1, true, ReasonUndecided},
		{"near the threshold", &Live{Evidence: 20, Nearest: 0.33, EmbeddedQuality: 0.6}, 0.1, true, ReasonUndecided},
		{"nobody matched yet", &Live{Evidence: 0, EmbeddedQuality: 0.6}, 0.1, true, ReasonUndecided},
		{"plainly unknown", &Live{Evidence: 3, Nearest: 0.31, EmbeddedQuality: 0.6, SinceEmbedded: 1}, 0.6, false, ReasonUnknown},
		{"plainly unknown, better face", &Live{Evidence: 6, Nearest: 0.31, EmbeddedQuality: 0.6}, 0.7, true, ReasonBetter},
		{"plainly unknown, due", &Live{Evidence: 6, Nearest: 0.31, EmbeddedQuality: 0.6, SinceEmbedded: 4}, 0.1, true, ReasonRefresh},
		{"plainly unknown, NaN lead", &Live{Evidence: 6, Nearest: float32(math.NaN())}, 0.1, true, ReasonUndecided},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := b.Embed(tc.l, tc.quality)
			if got != tc.want || why != tc.why {
				t.Errorf("Embed = %v, %v; want %v, %v", got, why, tc.want, tc.why)
			}
		})
	}
	long := settled
	long.Observations = 400
	for _, l := range []*Live{&settled, &long} {
		if ok, why := (Budget{Refresh: 1}).WithDefaults(Config{Threshold: 0.4}).Embed(l, 0); !ok || why != ReasonRefresh {
			t.Errorf("Refresh 1 skips a face of a track followed for %d observations (%v)", l.Observations, why)
		}
	}
}

func TestBudgetValidate(t *testing.T) {
	cfg := Config{Threshold: 0.4}
	for _, tc := range []struct {
		b     Budget
		field string
	}{
		{Budget{}, ""},
		{Budget{Refresh: -1}, "Refresh"},
		{Budget{ClearMargin: -1}, "ClearMargin"},
		{Budget{MinGain: 2}, "MinGain"},
		{Budget{MinGain: float32(math.NaN())}, "MinGain"},
		{Budget{UnknownFrames: -2}, "UnknownFrames"},
		{Budget{Refresh: 6, MaxRefresh: 5}, "MaxRefresh"},
	} {
		err := tc.b.Validate(cfg)
		if (err == nil) != (tc.field == "") || (err != nil && !strings.Contains(err.Error(), "Budget."+tc.field)) {
			t.Errorf("%+v: %v, want an error naming %q", tc.b, err, tc.field)
		}
	}
}

// Match pairs a face with the one track whose predicted box it overlaps,
// and with none when it overlaps two.
func TestMatch(t *testing.T) {
	cfg := Config{Threshold: 0.4}
	moving := Live{Track: 1, Box: box(100, 100), Seen: t0, VX: 100} // 100 px/s to the right
	still := Live{Track: 2, Box: box(400, 100), Seen: t0}
	// A track that lost its face just left of the still one's: in a crowd
	// a face may overlap several tracks, one of them far better.
	lost := Live{Track: 3, Box: box(440, 100), Seen: t0}
	live := []Live{moving, still, lost}
	for _, tc := range []struct {
		name string
		at   time.Time
		box  recognizer.Rect
		want int
	}{
		{"where it was", t0, box(100, 100), 0},
		{"where it moved", t0.Add(time.Second), box(200, 100), 0},
		{"the still one, beside the lost one", t0.Add(time.Second), box(402, 98), 1},
		{"the lost one, beside the still one", t0, box(444, 100), 2},
		{"as near one as the other", t0, box(420, 100), -1},
		{"nowhere near", t0, box(900, 500), -1},
		{"between two", t0, recognizer.Rect{X: 140, Y: 100, W: 300, H: 80}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Match(live, tc.at, tc.box, cfg); got != tc.want {
				t.Errorf("Match = %d, want %d", got, tc.want)
			}
		})
	}

	// A track seen in the latest frame beside one that missed it, the
	// coasting one only needs beating; a seen one must still be overlapped
	// less than half as much as the best.
	t1 := t0.Add(200 * time.Millisecond)
	seen := Live{Track: 4, Box: box(400, 100), Seen: t1}
	coasting := Live{Track: 5, Box: box(440, 100), Seen: t0}
	live = []Live{seen, coasting}
	for _, tc := range []struct {
		name string
		box  recognizer.Rect
		want int
	}{
		{"nearer the seen one (IoU 0.78 against 0.45)", box(410, 100), 0},
		{"nearer the coasting one (0.88 against 0.39)", box(435, 100), 1},
		{"coasting one better, seen one not far behind (0.68 against 0.52)", box(425, 100), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Match(live, t1, tc.box, cfg); got != tc.want {
				t.Errorf("Match = %d, want %d", got, tc.want)
			}
		})
	}
}

// Live copies the tracks with what a budget needs: identity, margin and
// the embeddings learned.
func TestLive(t *testing.T) {
	cfg := Config{Threshold: 0.4}
	w := newWorld(t, 3, 2)
	tr := New(cfg)
	for n := 1; n <= 6; n++ {
		o := w.see(t, n, "p01", box(100, 100), true)
		if n > 4 {
			o.Embedding.Vec, o.Matches = nil, nil
		}
		tr.Update(at(n), []Observation{o})
	}
	live := tr.Live(nil)
	if len(live) != 1 {
		t.Fatalf("%d live tracks, want 1", len(live))
	}
	l := live[0]
	if !l.Confirmed || l.PersonID != "p01" || !(l.Margin > 0) || l.EmbeddedQuality != 0.8 || l.SinceEmbedded != 2 || !l.Seen.Equal(at(6)) {
		t.Errorf("live %+v", l)
	}
}
