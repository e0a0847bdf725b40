package opencv

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
)

func newTestEngine(t testing.TB, specs ...EmbedderSpec) *Engine {
	t.Helper()
	det := DefaultDetectorConfig
	det.RetryUpscale = true
	e, err := New(Config{ModelDir: testenv.ModelDir(t), Detector: det, Embedders: specs, Flip: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func loadImage(t testing.TB, path string) *recognizer.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := DecodeImage(data, 0)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func TestDetectGroupPhoto(t *testing.T) {
	e := newTestEngine(t, facePlugin(t))
	img := loadImage(t, filepath.Join(testenv.TestData(t, "faces"), "pristin.jpg"))
	faces, err := e.Detect(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 10 {
		t.Fatalf("pristin.jpg: %d faces, want 10", len(faces))
	}
	for _, f := range faces {
		le, re, no := f.Landmarks[recognizer.LeftEye], f.Landmarks[recognizer.RightEye], f.Landmarks[recognizer.Nose]
		if !(le.X < no.X && no.X < re.X) || f.Score < 0.6 {
			t.Errorf("implausible face %+v", f)
		}
		if f.Quality.InterOcular <= 0 || f.Quality.Score <= 0 {
			t.Errorf("quality not assessed: %+v", f.Quality)
		}
	}
}

func TestDetectSingleFaces(t *testing.T) {
	e := newTestEngine(t, facePlugin(t))
	dir := testenv.TestData(t, "faces")
	for _, name := range []string{"elkie.jpg", "chaeyoung.jpg", "joy.jpg", "tzuyu2.jpg"} {
		faces, err := e.Detect(loadImage(t, filepath.Join(dir, name)))
		if err != nil || len(faces) < 1 {
			t.Errorf("%s: %d faces, err %v", name, len(faces), err)
		}
	}
}

// The face-api.js fixtures feed the whole picture, padded to a square and
// resized to 150 px, to the dlib network; the expected descriptors come from
// face-api.js itself.
func TestFaceAPIFixtures(t *testing.T) {
	e := newTestEngine(t, dlibONNX(t))
	dir := testenv.TestData(t, "faceapi-fixtures")
	for _, c := range []struct{ img, want string }{
		{"face1.png", "faceDescriptor1.json"},
		{"face2.png", "faceDescriptor2.json"},
		{"face_rectangular.png", "faceDescriptorRect.json"},
	} {
		t.Run(c.img, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, c.want))
			if err != nil {
				t.Fatal(err)
			}
			var want []float32
			if err := json.Unmarshal(raw, &want); err != nil || len(want) != 128 {
				t.Fatalf("%s: %v (len %d)", c.want, err, len(want))
			}
			img := loadImage(t, filepath.Join(dir, c.img))
			m, err := toMat(img)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			side := max(img.W, img.H)
			sq := gocv.NewMat()
			defer sq.Close()
			top, left := (side-img.H)/2, (side-img.W)/2
			gocv.CopyMakeBorder(m, &sq, top, side-img.H-top, left, side-img.W-left, gocv.BorderConstant, color.RGBA{})
			chip := gocv.NewMat()
			defer chip.Close()
			gocv.Resize(sq, &chip, image.Pt(150, 150), 0, 0, gocv.InterpolationLinear)
			got, _, err := e.embs[0].forwardChip(chip, false)
			if err != nil {
				t.Fatal(err)
			}
			var d float64
			for i := range want {
				d += float64(got[i]-want[i]) * float64(got[i]-want[i])
			}
			d = math.Sqrt(d)
			t.Logf("%s: L2 to face-api.js descriptor %.4f", c.img, d)
			if d >= 0.1 {
				t.Fatalf("%s: L2 %.4f, want < 0.1", c.img, d)
			}
		})
	}
}

func TestEmbedSameVersusDifferent(t *testing.T) {
	e := newTestEngine(t, facePlugin(t), dlibONNX(t))
	lfw := filepath.Join(testenv.TestData(t, "lfw-dev"), "images")
	emb := func(rel string) recognizer.Embedding {
		img := loadImage(t, filepath.Join(lfw, rel))
		faces, embs, err := e.Recognize(img, nil)
		if err != nil || len(faces) == 0 {
			t.Fatalf("%s: %d faces, %v", rel, len(faces), err)
		}
		best := 0
		for i, f := range faces {
			if f.Box.Area() > faces[best].Box.Area() {
				best = i
			}
		}
		if n := math.Sqrt(float64(recognizer.Dot(embs[best].Vec, embs[best].Vec))); math.Abs(n-1) > 1e-4 {
			t.Fatalf("embedding norm %v", n)
		}
		return embs[best]
	}
	a := emb("George_Clooney/George_Clooney_0001.jpg")
	b := emb("George_Clooney/George_Clooney_0002.jpg")
	c := emb("Albert_Pujols/Albert_Pujols_0001.jpg")
	same, _ := recognizer.Similarity(a, b)
	diff, _ := recognizer.Similarity(a, c)
	t.Logf("same %.3f different %.3f", same, diff)
	if same <= diff+0.1 {
		t.Fatalf("same-person similarity %.3f not clearly above different-person %.3f", same, diff)
	}
	if len(a.Vec) != 640 || a.Model != e.Model() {
		t.Fatalf("fused embedding dim %d model %q", len(a.Vec), a.Model)
	}
}

// A face about 40 px wide in a 1920x1080 frame (a corridor camera's
// distant subject) is found when the detection resolution is the frame's
// own; the default 640 is the documented trade of speed for reach.
func TestSmallFaceInLargeFrame(t *testing.T) {
	face := loadImage(t, filepath.Join(testenv.TestData(t, "lfw-dev"), "images", "George_Clooney", "George_Clooney_0001.jpg"))
	src, err := toMat(face)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(src, &small, image.Pt(100, 100), 0, 0, gocv.InterpolationArea) // the face itself is ~40 px
	frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 90, 90, 0), 1080, 1920, gocv.MatTypeCV8UC3)
	defer frame.Close()
	roi := frame.Region(image.Rect(1500, 700, 1600, 800))
	small.CopyTo(&roi)
	roi.Close()
	img, err := fromMat(frame)
	if err != nil {
		t.Fatal(err)
	}
	det := DefaultDetectorConfig
	det.MaxSide = 1920
	e, err := New(Config{ModelDir: testenv.ModelDir(t), Detector: det, Embedders: []EmbedderSpec{facePlugin(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	faces, err := e.Detect(img)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range faces {
		c := f.Box.Center()
		found = found || (c.X > 1500 && c.X < 1600 && c.Y > 700 && c.Y < 800)
		t.Logf("face at %.0f,%.0f size %.0fx%.0f iod %.1f score %.2f", f.Box.X, f.Box.Y, f.Box.W, f.Box.H, f.InterOcular(), f.Score)
	}
	if !found {
		t.Fatalf("small face lost at full detection resolution: %d faces", len(faces))
	}
}

// Recognize hands the frame to OpenCV once and embeds only the faces
// asked for, with the embeddings Embed gives them.
func TestRecognizeEmbedsWhatIsAskedFor(t *testing.T) {
	e := newTestEngine(t, facePlugin(t), dlibONNX(t))
	img := loadImage(t, filepath.Join(testenv.TestData(t, "faces"), "pristin.jpg"))
	var asked int
	faces, embs, err := e.Recognize(img, func(recognizer.Face) bool {
		asked++
		return asked%2 == 1
	})
	if err != nil || len(faces) < 4 || len(embs) != len(faces) {
		t.Fatalf("Recognize: %d faces, %d embeddings, %v; want at least 4 faces, one embedding each", len(faces), len(embs), err)
	}
	if asked != len(faces) {
		t.Fatalf("want was asked %d times for %d faces", asked, len(faces))
	}
	want, err := e.Embed(img, faces)
	if err != nil {
		t.Fatal(err)
	}
	for i := range faces {
		if i%2 == 1 {
			if embs[i].Vec != nil || embs[i].Model != e.Model() {
				t.Errorf("face %d was refused: got a %d-dim vector of model %q, want none of %q", i, len(embs[i].Vec), embs[i].Model, e.Model())
			}
			continue
		}
		if s := recognizer.Dot(embs[i].Vec, want[i].Vec); s < 0.9999 {
			t.Errorf("face %d: cosine %.5f to Embed's embedding, want the same", i, s)
		}
	}
}
