package edge

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// lendEngine finds n usable faces side by side; a face's embedding is its
// position, whichever engine makes it, as with real engines (Embed gives
// the embedding Recognize does).
type lendEngine struct {
	n int
	// made counts the faces this engine embedded, by Recognize or Embed.
	mu   sync.Mutex
	made int
	// gate, when set, holds Recognize's second embedding until a borrower
	// embedded something: proof that the two ran at the same time.
	gate     chan struct{}
	timedOut bool
}

func (*lendEngine) Detect(*recognizer.Image) ([]recognizer.Face, error) { return nil, nil }
func (*lendEngine) Model() recognizer.ModelID                           { return "m" }
func (*lendEngine) Dim() int                                            { return 2 }
func (*lendEngine) Name() string                                        { return "lend" }
func (*lendEngine) Close() error                                        { return nil }

func lendFace(i int) recognizer.Face {
	x := float32(20 + 40*i)
	f := recognizer.Face{Box: recognizer.Rect{X: x, Y: 40, W: 20, H: 24}, Score: 0.9}
	f.Landmarks = [5]recognizer.Point{{X: x + 6, Y: 50}, {X: x + 14, Y: 50}, {X: x + 10, Y: 54.4}, {X: x + 7, Y: 58}, {X: x + 13, Y: 58}}
	f.Quality = recognizer.Quality{Score: 0.8, InterOcular: 24, Sharpness: 100}
	return f
}

func lendVec(f recognizer.Face) []float32 { return []float32{f.Box.X, 1} }

func (e *lendEngine) Embed(_ *recognizer.Image, faces []recognizer.Face) ([]recognizer.Embedding, error) {
	out := make([]recognizer.Embedding, len(faces))
	for i, f := range faces {
		out[i] = recognizer.Embedding{Model: "m", Vec: lendVec(f)}
	}
	e.mu.Lock()
	e.made += len(faces)
	e.mu.Unlock()
	return out, nil
}

func (e *lendEngine) Recognize(_ *recognizer.Image, want func(recognizer.Face) bool) ([]recognizer.Face, []recognizer.Embedding, error) {
	var faces []recognizer.Face
	var embs []recognizer.Embedding
	mine := 0
	for i := range e.n {
		f := lendFace(i)
		emb := recognizer.Embedding{Model: "m"}
		if want(f) {
			if mine++; mine == 2 && e.gate != nil {
				select {
				case <-e.gate:
				case <-time.After(10 * time.Second):
					e.timedOut = true
				}
			}
			emb.Vec = lendVec(f)
			e.mu.Lock()
			e.made++
			e.mu.Unlock()
		}
		faces, embs = append(faces, f), append(embs, emb)
	}
	return faces, embs, nil
}

// gatedEngine is a lendEngine whose Embed opens its partner's gate.
type gatedEngine struct {
	*lendEngine
	open func()
}

func (g *gatedEngine) Embed(img *recognizer.Image, faces []recognizer.Face) ([]recognizer.Embedding, error) {
	defer g.open()
	return g.lendEngine.Embed(img, faces)
}

func lendDaemon() *Daemon {
	return &Daemon{m: newMetrics(), snaps: newSnapshots(), holder: gallery.NewHolder(nil), live: &liveTracks{},
		recErrs: newEvery(slog.New(slog.DiscardHandler), slog.LevelWarn, "", time.Minute)}
}

func lendFrame() *camera.Frame {
	return &camera.Frame{Camera: "c", Seq: 1, Captured: time.Unix(1000, 0), W: 320, H: 240, Pix: make([]byte, 320*240*3)}
}

// A worker with several faces to embed borrows the idle worker's engine,
// both embed at once, and every face gets the embedding one engine alone
// gives it; the engine goes back to its owner afterwards.
func TestRecognizeBorrowsAnIdleEngine(t *testing.T) {
	own := &lendEngine{n: 4, gate: make(chan struct{})}
	var once sync.Once
	other := &gatedEngine{lendEngine: &lendEngine{}, open: func() { once.Do(func() { close(own.gate) }) }}
	d := lendDaemon()
	d.engines = newEnginePool([]recognizer.Engine{own, other})

	release := d.engines.hold(own)
	res := d.recognize(own, lendFrame())
	release()

	if len(res.obs) != 4 {
		t.Fatalf("%d observations, want 4", len(res.obs))
	}
	if own.timedOut {
		t.Error("the borrowed engine embedded nothing while the worker's engine waited for it: they did not run at once")
	}
	for i, o := range res.obs {
		want := lendVec(lendFace(i))
		if len(o.Embedding.Vec) != 2 || o.Embedding.Vec[0] != want[0] {
			t.Errorf("face %d: embedding %v, want %v", i, o.Embedding.Vec, want)
		}
	}
	if own.made+other.made != 4 || other.made == 0 || own.made == 0 {
		t.Errorf("embedded %d on the worker's engine and %d on the borrowed one; want all 4, shared", own.made, other.made)
	}
	// The borrowed engine is free again, and so is the worker's.
	if eng, rel := d.engines.borrow(own); eng != other {
		t.Fatalf("the lent engine was not given back (borrow returned %v)", eng)
	} else {
		rel()
	}
	if eng, rel := d.engines.borrow(other); eng != own {
		t.Fatalf("the worker's own engine is still held (borrow returned %v)", eng)
	} else {
		rel()
	}
}

// An engine its owner is using is never borrowed, and a frame with one
// face to embed borrows nothing.
func TestRecognizeBorrowsOnlyIdleEngines(t *testing.T) {
	for _, tc := range []struct {
		name      string
		faces     int
		otherBusy bool
	}{
		{"the other engine busy", 3, true},
		{"one face", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			own, other := &lendEngine{n: tc.faces}, &lendEngine{}
			d := lendDaemon()
			d.engines = newEnginePool([]recognizer.Engine{own, other})
			if tc.otherBusy {
				defer d.engines.hold(other)()
			}
			release := d.engines.hold(own)
			res := d.recognize(own, lendFrame())
			release()
			if other.made != 0 || own.made != tc.faces {
				t.Errorf("embedded %d on the worker's engine, %d on the other; want all %d on its own", own.made, other.made, tc.faces)
			}
			for i, o := range res.obs {
				if len(o.Embedding.Vec) != 2 {
					t.Errorf("face %d not embedded", i)
				}
			}
		})
	}
}
