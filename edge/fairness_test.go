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

// slowEngine finds nothing and takes cost per frame: a box that cannot
// keep up.
type slowEngine struct {
	sceneEngine
	cost time.Duration
}

func (e *slowEngine) Recognize(*recognizer.Image, func(recognizer.Face) bool) ([]recognizer.Face, []recognizer.Embedding, error) {
	time.Sleep(e.cost)
	return nil, nil, nil
}

// With more cameras than the workers can carry, every camera keeps an
// equal share of the recognised frames: the hand-off serves the cameras
// in the order their frames arrived, so each waits one round at most.
// Six cameras at 5 fps, started out of phase, feed two workers that
// recognise 8 frames a second between them, for a minute of (fake) time.
func TestWorkersShareOverloadEvenly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			cams    = 6
			period  = 200 * time.Millisecond // 5 fps per camera
			cost    = 250 * time.Millisecond // per frame and worker
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

		ctx, stop := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() { _ = d.worker(ctx, &slowEngine{cost: cost}, latest, out) })
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
					f := &camera.Frame{Camera: fmt.Sprintf("cam%d", c), Seq: seq, Captured: time.Now(), W: 4, H: 4, Pix: make([]byte, 4*4*3)}
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
		for c := range cams {
			n := recognised[fmt.Sprintf("cam%d", c)]
			total += n
			lo, hi = min(lo, n), max(hi, n)
		}
		t.Logf("recognised per camera %v, dropped %v", recognised, dropped)
		want := int(run / cost * workers) // what the workers can do
		if total < want-workers || total > want+cams {
			t.Errorf("%d frames recognised, want about %d", total, want)
		}
		// Each camera within one frame of the others (the last round may be
		// cut short).
		if hi-lo > 1 {
			t.Errorf("recognised per camera from %d to %d, want an equal share", lo, hi)
		}
	})
}
