package track

import (
	"time"

	"github.com/dozor-edge/dozor/recognizer"
)

// Live is a copy of one track as it stands between frames, for a reader
// that does not own the Tracker: the recognizer workers, which decide per
// face whether an embedding is worth making before the tracker sees it. It
// holds no reference into the Tracker, so it may be handed to any
// goroutine.
type Live struct {
	Track     ID
	Confirmed bool
	// Box is the latest observed box, Seen the camera time it was observed
	// and VX, VY the box centre's velocity in pixels per second.
	Box    recognizer.Rect
	Seen   time.Time
	VX, VY float64
	// PersonID is the decided identity, empty while undecided; Margin is
	// its lead over the runner-up when it was decided (+Inf when it had
	// no rival).
	PersonID string
	Margin   float32
	// Evidence is how many usable frames with gallery matches the track
	// has judged; Nearest, while it is undecided, is the weighted mean
	// score of the person leading them (0 when nobody matched): how far
	// the track is from any enrolled person.
	Evidence int
	Nearest  float32
	// EmbeddedQuality is the best quality score among the observations
	// whose embedding the track learned from, 0 when there is none;
	// SinceEmbedded counts the observations after the latest of them
	// (all of them when there is none).
	EmbeddedQuality float32
	SinceEmbedded   int
	// Observations is how many faces the track has been given.
	Observations int
}

// Predict is where the track's box should be at camera time t, moving at
// its velocity for at most maxAge: the box the tracker pairs by.
func (l Live) Predict(t time.Time, maxAge time.Duration) recognizer.Rect {
	dt := max(min(t.Sub(l.Seen), maxAge), 0).Seconds()
	b := l.Box
	b.X += float32(l.VX * dt)
	b.Y += float32(l.VY * dt)
	return b
}

// Live appends to out a copy of every track alive (tentative ones too)
// and returns it.
func (tr *Tracker) Live(out []Live) []Live {
	for _, tk := range tr.tracks {
		l := Live{
			Track: tk.id, Confirmed: tk.confirmed, Box: tk.box, Seen: tk.lastTime, VX: tk.vx, VY: tk.vy,
			EmbeddedQuality: tk.embeddedQ, SinceEmbedded: tk.hits - tk.embeddedAt,
			Observations: tk.hits,
		}
		l.Evidence = tk.all.frames
		if tk.current != nil {
			l.PersonID, l.Margin = tk.current.PersonID, tk.current.Margin
		} else if v := tk.all.judge(tr.rule); v.person != "" {
			l.Nearest = float32(v.mean)
		}
		out = append(out, l)
	}
	return out
}

// Match returns the index in live of the one track a face with box at
// camera time t continues by position, or -1. It is the tracker's pairing
// by box alone, made before the face is embedded: the face must overlap
// that track's predicted box by at least cfg.MinIoU and more than any
// other's, and overlap every other track seen in the latest frame by less
// than half as much. A crowd leaves several tracks around one face; a
// track that lost its face lives on for cfg.MaxAge where it was going, a
// guess that only needs beating, while two tracks both seen a frame ago
// are two faces whose appearance alone can say which this one is: then -1
// says so. The Tracker still makes the real pairing when the frame is
// updated.
func Match(live []Live, t time.Time, box recognizer.Rect, cfg Config) int {
	cfg = cfg.WithDefaults()
	var latest time.Time
	for i := range live {
		if live[i].Seen.After(latest) {
			latest = live[i].Seen
		}
	}
	best, bestIoU, second, coasting := -1, float32(0), float32(0), float32(0)
	for i := range live {
		iou := live[i].Predict(t, cfg.MaxAge).IoU(box)
		if iou < cfg.MinIoU {
			continue
		}
		// What the best must beat: a coasting track once, a seen one
		// twice.
		rival := &second
		if live[i].Seen.Before(latest) {
			rival = &coasting
		}
		if iou > bestIoU {
			if best >= 0 {
				if live[best].Seen.Before(latest) {
					coasting = max(coasting, bestIoU)
				} else {
					second = max(second, bestIoU)
				}
			}
			best, bestIoU = i, iou
			continue
		}
		*rival = max(*rival, iou)
	}
	if best >= 0 && (bestIoU < 2*second || bestIoU <= coasting) {
		return -1
	}
	return best
}
