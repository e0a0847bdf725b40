package edge

import (
	"strings"
	"testing"
	"time"
)

// The capacity figures cover the last minute: a burst of drops that is
// over stops counting once it leaves the window, and a box that drops
// more than a tenth of its frames is over capacity, with a warning.
func TestCapacityWindow(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var c capacity
	if v := c.view(); v.Over || v.Sampled != 0 || v.Threshold != overCapacityShare {
		t.Fatalf("no samples: %+v", v)
	}
	// 20 fps sampled; 5 s steps.
	frames, drops := uint64(0), uint64(0)
	step := func(n int, dropShare float64) {
		for range n {
			t0 = t0.Add(capacityEvery)
			frames += 100
			drops += uint64(100 * dropShare)
			c.note(t0, frames, drops)
		}
	}
	c.note(t0, 0, 0)
	step(12, 0.03) // a minute at 3% dropped
	v := c.view()
	if v.Over || v.Sampled != 1200 || v.Dropped != 36 || v.WindowSeconds != 60 || v.warning() != "" {
		t.Errorf("3%% dropped: %+v", v)
	}
	step(6, 0.5) // half a minute at half dropped
	v = c.view()
	if !v.Over || v.Sampled != 1200 || v.Dropped != 18+300 {
		t.Errorf("half dropped for 30 s: %+v", v)
	}
	if w := v.warning(); !strings.Contains(w, "over capacity: 26% of the sampled frames") {
		t.Errorf("warning %q", w)
	}
	step(12, 0) // a quiet minute
	if v := c.view(); v.Over || v.Dropped != 0 || v.Sampled != 1200 {
		t.Errorf("after a quiet minute: %+v", v)
	}
	if len(c.samples) > 14 {
		t.Errorf("%d samples kept for a minute at one per %v", len(c.samples), capacityEvery)
	}
	// Too few frames to tell (a camera at 0.1 fps), even if all dropped.
	var few capacity
	few.note(t0, 0, 0)
	few.note(t0.Add(time.Minute), 10, 10)
	if v := few.view(); v.Over {
		t.Errorf("10 frames: %+v", v)
	}
	// Totals that go back (the cameras were rebuilt) start over.
	c.note(t0.Add(time.Second), 5, 0)
	if v := c.view(); v.Sampled != 0 {
		t.Errorf("after a reset: %+v", v)
	}
}
