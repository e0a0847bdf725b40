package edge

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The box is over capacity when more than overCapacityShare of the frames
// its cameras sampled over the last capacityWindow were dropped before a
// worker took them (replaced by the camera's next one). Recognition then
// degrades evenly over the cameras (the hand-off serves them in turn), so
// every camera still names the people it sees, from fewer frames. A tenth
// is the share at which a 5 fps camera falls below 4.5 recognised frames
// a second; fewer than minCapacityFrames sampled frames say nothing.
const (
	capacityWindow    = time.Minute
	capacityEvery     = 5 * time.Second
	overCapacityShare = 0.10
	minCapacityFrames = 50
)

// capacityView is the capacity section of /healthz.
type capacityView struct {
	// Over is true when the share of sampled frames dropped before
	// recognition over the window exceeds Threshold.
	Over bool `json:"over"`
	// Sampled and Dropped count the frames of every camera over the last
	// WindowSeconds (shorter just after the start); DroppedShare is
	// Dropped/Sampled.
	Sampled       uint64  `json:"sampled"`
	Dropped       uint64  `json:"dropped"`
	DroppedShare  float64 `json:"dropped_share"`
	Threshold     float64 `json:"threshold"`
	WindowSeconds float64 `json:"window_seconds"`
}

// capacity keeps the cameras' frame and drop totals over the last window.
type capacity struct {
	mu      sync.Mutex
	samples []capacitySample // oldest first; the first may be older than the window
}

type capacitySample struct {
	at            time.Time
	frames, drops uint64
}

// note records the totals at now and forgets the samples the window no
// longer needs.
func (c *capacity) note(now time.Time, frames, drops uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.samples); n > 0 && (frames < c.samples[n-1].frames || drops < c.samples[n-1].drops) {
		c.samples = c.samples[:0] // the totals went back: start over
	}
	c.samples = append(c.samples, capacitySample{at: now, frames: frames, drops: drops})
	// Keep one sample at or before the window's start.
	k := 0
	for k+1 < len(c.samples) && !c.samples[k+1].at.After(now.Add(-capacityWindow)) {
		k++
	}
	c.samples = append(c.samples[:0], c.samples[k:]...)
}

// view is the capacity over the samples noted.
func (c *capacity) view() capacityView {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := capacityView{Threshold: overCapacityShare}
	if len(c.samples) < 2 {
		return v
	}
	first, last := c.samples[0], c.samples[len(c.samples)-1]
	v.Sampled, v.Dropped = last.frames-first.frames, last.drops-first.drops
	v.WindowSeconds = last.at.Sub(first.at).Seconds()
	if v.Sampled > 0 {
		v.DroppedShare = float64(v.Dropped) / float64(v.Sampled)
	}
	v.Over = v.Sampled >= minCapacityFrames && v.DroppedShare > overCapacityShare
	return v
}

// warning is the /healthz line of an over-capacity box, empty when not.
func (v capacityView) warning() string {
	if !v.Over {
		return ""
	}
	return fmt.Sprintf("over capacity: %.0f%% of the sampled frames were dropped before recognition over the last %.0f s (%d of %d)",
		100*v.DroppedShare, v.WindowSeconds, v.Dropped, v.Sampled)
}

// watchCapacity notes the cameras' totals every capacityEvery until ctx
// ends.
func (d *Daemon) watchCapacity(ctx context.Context) {
	t := time.NewTicker(capacityEvery)
	defer t.Stop()
	for {
		frames, drops := d.frameTotals()
		d.capacity.note(time.Now(), frames, drops)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// frameTotals sums the frames the cameras handed to recognition and the
// ones dropped before a worker took them.
func (d *Daemon) frameTotals() (frames, drops uint64) {
	for _, c := range d.cams {
		h := c.Health()
		frames += h.Frames
		drops += h.Drops
	}
	return frames, drops
}
