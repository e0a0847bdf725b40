package edge

import (
	"log/slog"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// chipEngine reports one face, 8 px between the eyes in the detection
// frame, with the quality an engine measures where it cuts its chips.
type chipEngine struct {
	chipIOD, sharpness float32
	got                *recognizer.Image
	wanted             bool
}

func (*chipEngine) Detect(*recognizer.Image) ([]recognizer.Face, error) { return nil, nil }
func (*chipEngine) Model() recognizer.ModelID                           { return "m" }
func (*chipEngine) Dim() int                                            { return 1 }
func (*chipEngine) Name() string                                        { return "chips" }
func (*chipEngine) Close() error                                        { return nil }
func (*chipEngine) Embed(*recognizer.Image, []recognizer.Face) ([]recognizer.Embedding, error) {
	return nil, nil
}

func (e *chipEngine) Recognize(img *recognizer.Image, want func(recognizer.Face) bool) ([]recognizer.Face, []recognizer.Embedding, error) {
	e.got = img
	f := recognizer.Face{Box: recognizer.Rect{X: 100, Y: 100, W: 20, H: 24}, Score: 0.9}
	f.Landmarks = [5]recognizer.Point{{X: 106, Y: 110}, {X: 114, Y: 110}, {X: 110, Y: 114.4}, {X: 107, Y: 118}, {X: 113, Y: 118}}
	f.Quality.InterOcular, f.Quality.Sharpness = e.chipIOD, e.sharpness
	e.wanted = want(f)
	emb := recognizer.Embedding{Model: "m"}
	if e.wanted {
		emb.Vec = []float32{1}
	}
	return []recognizer.Face{f}, []recognizer.Embedding{emb}, nil
}

// The worker hands the engine the frame's full-resolution picture and
// judges a face where its chip is cut: a face too small in the detection
// frame is usable and embedded when the full picture holds enough of it.
// Faces the usability gate rejects are not embedded.
func TestRecognizeUsesTheFullPicture(t *testing.T) {
	for _, tc := range []struct {
		name      string
		full      bool
		chipIOD   float32
		sharpness float32
		wantEmbed bool
		wantCropW int
	}{
		{"detection frame only", false, 0, 100, false, 20 + 2*6},
		{"full picture", true, 24, 100, true, 60 + 2*18},
		{"full picture, still too small", true, minEmbedInterOcular / 2, 100, false, 60 + 2*18},
		{"full picture, blurred", true, 24, 1, false, 60 + 2*18},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &camera.Frame{Camera: "c", Seq: 1, W: 640, H: 360, Pix: make([]byte, 640*360*3)}
			if tc.full {
				f.FullW, f.FullH, f.FullPix = 1920, 1080, make([]byte, 1920*1080*3)
			}
			eng := &chipEngine{chipIOD: tc.chipIOD, sharpness: tc.sharpness}
			d := &Daemon{m: newMetrics(), snaps: newSnapshots(), holder: gallery.NewHolder(nil), recErrs: newEvery(slog.New(slog.DiscardHandler), slog.LevelWarn, "", time.Minute)}
			res := d.recognize(eng, f)
			if (eng.got.Full != nil) != tc.full {
				t.Fatalf("engine got a full picture: %v, want %v", eng.got.Full != nil, tc.full)
			}
			if tc.full && (eng.got.Full.W != 1920 || eng.got.Full.H != 1080) {
				t.Fatalf("full picture %dx%d", eng.got.Full.W, eng.got.Full.H)
			}
			if eng.wanted != tc.wantEmbed {
				t.Errorf("embedding asked for: %v, want %v", eng.wanted, tc.wantEmbed)
			}
			if len(res.obs) != 1 || res.w != 640 || res.h != 360 {
				t.Fatalf("%d observations on a %dx%d frame", len(res.obs), res.w, res.h)
			}
			if u := res.obs[0].Usability; u.Usable != tc.wantEmbed || (u.Reason == "") != u.Usable {
				t.Errorf("usability %+v, want usable=%v", u, tc.wantEmbed)
			}
			if got := res.obs[0].Crop.Image; got == nil || got.Bounds().Dx() != tc.wantCropW {
				t.Errorf("crop %v, want %d px wide", got, tc.wantCropW)
			}
		})
	}
}
