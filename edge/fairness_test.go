package edge

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// slowEngine finds nothing and takes costOf(the frame's width) per frame,
// on the synctest bubble's clock: a box that cannot keep up.
type slowEngine struct {
	sceneEngine
	costOf func(width int) time.Duration
}

func (e *slowEngine) Recognize(img *recognizer.Image, _ func(recognizer.Face) bool) ([]recognizer.Face, []recognizer.Embedding, error) {
	time.Sleep(e.costOf(img.W))
	return nil, nil, nil
}

// With more cameras than the workers can carry, every camera keeps an
// equal share of the recognised frames: the hand-off serves the camera
// served least recently, so each waits one round at most. Six cameras at
// 5 fps, started out of phase, feed two workers for a minute of (fake)
// time: first at 250 ms a frame, then with each camera's frames costing
// from 150 to 350 ms (some scenes hold more faces).
func TestWorkersShareOverloadEvenly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		costOf func(cam int) time.Duration
	}{
		{"equal cost", func(int) time.Duration { return 250 * time.Millisecond }},
		{"uneven cost", func(cam int) time.Duration { return 150*time.Millisecond + time.Duration(cam)*40*time.Millisecond }},
	} {
		t.Run(tc.name, func(t *testing.T) { shareOverload(t, tc.costOf) })
	}
}

func shareOverload(t *testing.T, costOf func(cam int) time.Duration) {
	synctest.Test(t, func(t *testing.T) {
		const (
			cams    = 6
			period  = 200 * time.Millisecond // 5 fps per camera
			workers = 2
			run     = time.Minute
		)
		d := &Daemon{m: newMetrics(), snaps: newSnapshots(), holder: gallery.NewHolder(nil),
			recErrs: newEvery(slog.New(slog.DiscardHandler), slog.LevelWarn, "", time.Minute)}
		latest := camera.NewLatest()
		out := make(chan frameResult)
		recognised := map[string]int{}
		var counted sync.WaitGroup
		counted.Go(func() {
			for r := range out {
				recognised[r.camera]++
			}
		})

		// A frame's width says which camera it is from (4 + index).
		eng := func() *slowEngine { return &slowEngine{costOf: func(w int) time.Duration { return costOf(w - 4) }} }
		ctx, stop := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() { _ = d.worker(ctx, eng(), latest, out) })
		}
		var cameras sync.WaitGroup
		dropped := make([]int, cams)
		for c := range cams {
			cameras.Go(func() {
				// Out of phase: camera c starts c·period/cams in.
				time.Sleep(time.Duration(c) * period / cams)
				tick := time.NewTicker(period)
				defer tick.Stop()
				for seq := uint64(1); seq <= uint64(run/period); seq++ {
					f := &camera.Frame{Camera: fmt.Sprintf("cam%d", c), Seq: seq, Captured: time.Now(), W: 4 + c, H: 4, Pix: make([]byte, (4+c)*4*3)}
					if latest.Put(f) != nil {
						dropped[c]++
					}
					<-tick.C
				}
			})
		}
		cameras.Wait()
		stop()
		wg.Wait()
		close(out)
		counted.Wait()

		total, lo, hi := 0, int(^uint(0)>>1), 0
		var work time.Duration
		for c := range cams {
			n := recognised[fmt.Sprintf("cam%d", c)]
			total += n
			work += time.Duration(n) * costOf(c)
			lo, hi = min(lo, n), max(hi, n)
		}
		t.Logf("recognised per camera %v, dropped %v", recognised, dropped)
		// The workers were busy all along: their time went into frames.
		if busy := run * workers; work < busy-2*workers*costOf(cams-1) || work > busy+cams*costOf(cams-1) {
			t.Errorf("%d frames recognised, %v of work, want about %v", total, work, busy)
		}
		// Each camera within one frame of the others (the last round may be
		// cut short).
		if hi-lo > 1 {
			t.Errorf("recognised per camera from %d to %d, want an equal share", lo, hi)
		}
	})
}
