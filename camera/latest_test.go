package camera

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestLatestKeepsNewestPerCamera(t *testing.T) {
	l := NewLatest()
	if l.TryNext() != nil {
		t.Fatal("empty hand-off returned a frame")
	}
	if old := l.Put(&Frame{Camera: "a", Seq: 1}); old != nil {
		t.Fatal("first put replaced something")
	}
	l.Put(&Frame{Camera: "b", Seq: 1})
	old := l.Put(&Frame{Camera: "a", Seq: 2})
	if old == nil || old.Seq != 1 {
		t.Fatalf("replaced %v, want a#1", old)
	}
	if l.Waiting() != 2 {
		t.Fatalf("waiting %d, want 2 (one per camera)", l.Waiting())
	}
	// Order of first arrival: a, then b; a holds its newest frame.
	if f := l.TryNext(); f.Camera != "a" || f.Seq != 2 {
		t.Fatalf("got %s#%d, want a#2", f.Camera, f.Seq)
	}
	if f := l.TryNext(); f.Camera != "b" {
		t.Fatalf("got %s, want b", f.Camera)
	}
	if l.TryNext() != nil || l.Waiting() != 0 {
		t.Fatal("hand-off not empty")
	}
}

// The camera served longest ago goes first, whichever frame came first: a
// camera whose pictures arrive late keeps its turn.
func TestLatestServesTheCameraServedLongestAgo(t *testing.T) {
	l := NewLatest()
	take := func() string {
		f := l.TryNext()
		if f == nil {
			t.Fatal("nothing waiting")
		}
		return fmt.Sprintf("%s#%d", f.Camera, f.Seq)
	}
	l.Put(&Frame{Camera: "a", Seq: 1})
	l.Put(&Frame{Camera: "b", Seq: 1})
	l.Put(&Frame{Camera: "c", Seq: 1})
	var got []string
	got = append(got, take(), take()) // never served: in the order they came
	l.Put(&Frame{Camera: "b", Seq: 2})
	l.Put(&Frame{Camera: "a", Seq: 2})
	// c was never served; of a and b, a was served first although b's
	// frame came first.
	got = append(got, take(), take(), take())
	want := []string{"a#1", "b#1", "c#1", "a#2", "b#2"}
	if !slices.Equal(got, want) {
		t.Fatalf("served %v, want %v", got, want)
	}
}

func TestLatestNextWaitsAndCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLatest()
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := l.Next(ctx); err == nil {
			t.Fatal("Next on an empty hand-off returned without a frame")
		}
		got := make(chan *Frame)
		go func() {
			f, err := l.Next(t.Context())
			if err != nil {
				t.Errorf("Next: %v", err)
			}
			got <- f
		}()
		synctest.Wait() // Next is blocked: nothing to take yet
		select {
		case f := <-got:
			t.Fatalf("Next returned %v from an empty hand-off", f)
		default:
		}
		l.Put(&Frame{Camera: "x"})
		if f := <-got; f == nil || f.Camera != "x" {
			t.Fatalf("Next: %v", f)
		}
	})
}

// Many cameras, many workers: every frame is either taken or reported as
// replaced, exactly once.
func TestLatestConcurrent(t *testing.T) {
	// In a bubble, so that synctest.Wait can tell when every worker sleeps.
	synctest.Test(t, func(t *testing.T) {
		l := NewLatest()
		const cams, per, workers = 8, 2000, 4
		var mu sync.Mutex
		seen := map[*Frame]int{}
		note := func(f *Frame) {
			mu.Lock()
			seen[f]++
			mu.Unlock()
		}
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					f, err := l.Next(ctx)
					if err != nil {
						return
					}
					note(f)
				}
			}()
		}
		var pw sync.WaitGroup
		for c := range cams {
			pw.Add(1)
			go func() {
				defer pw.Done()
				for i := range per {
					if old := l.Put(&Frame{Camera: string(rune('a' + c)), Seq: uint64(i)}); old != nil {
						note(old)
					}
				}
			}()
		}
		pw.Wait()
		// Once everyone is blocked, the workers must have taken every frame
		// left: a lost wake-up would leave one waiting with workers asleep.
		synctest.Wait()
		if n := l.Waiting(); n != 0 {
			t.Fatalf("%d frames waiting while every worker sleeps", n)
		}
		cancel()
		wg.Wait()
		if len(seen) != cams*per {
			t.Fatalf("%d frames accounted for, want %d", len(seen), cams*per)
		}
		for f, n := range seen {
			if n != 1 {
				t.Fatalf("frame %s#%d accounted %d times", f.Camera, f.Seq, n)
			}
		}
	})
}

func TestFrameRelease(t *testing.T) {
	p := newBufPool(2)
	b := p.get(12)
	f := &Frame{W: 2, H: 2, Pix: b, pool: p}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	f.Release()
	f.Release() // twice is harmless
	if f.Pix != nil {
		t.Fatal("released frame keeps its pixels")
	}
	if got := p.get(12); &got[0] != &b[0] {
		t.Fatal("buffer not reused")
	}
	if got := p.get(100); len(got) != 100 {
		t.Fatal("pool returned a short buffer")
	}
	(*Frame)(nil).Release()
	if (&Frame{W: 2, H: 2, Pix: make([]byte, 5)}).Validate() == nil {
		t.Fatal("bad frame validated")
	}
}
