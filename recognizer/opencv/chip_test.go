package opencv

import (
	"image"
	"math"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
)

// cameraFrame pastes a face photo, scaled to side px, into a grey
// 1920x1080 frame at (x, y) and returns the frame with its 640x360
// detection-size copy, made the way the camera makes it (area averaging).
func cameraFrame(t *testing.T, side, x, y int) (full, small *recognizer.Image) {
	t.Helper()
	photo := loadImage(t, filepath.Join(testenv.TestData(t, "lfw-dev"), "images", "George_Clooney", "George_Clooney_0001.jpg"))
	src, err := toMat(photo)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	face := gocv.NewMat()
	defer face.Close()
	gocv.Resize(src, &face, image.Pt(side, side), 0, 0, gocv.InterpolationArea)
	frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 90, 90, 0), 1080, 1920, gocv.MatTypeCV8UC3)
	defer frame.Close()
	r := image.Rect(x, y, x+side, y+side).Intersect(image.Rect(0, 0, 1920, 1080))
	part := face.Region(r.Sub(image.Pt(x, y)))
	roi := frame.Region(r)
	part.CopyTo(&roi)
	roi.Close()
	part.Close()
	shrunk := gocv.NewMat()
	defer shrunk.Close()
	gocv.Resize(frame, &shrunk, image.Pt(640, 360), 0, 0, gocv.InterpolationArea)
	if full, err = fromMat(frame); err != nil {
		t.Fatal(err)
	}
	if small, err = fromMat(shrunk); err != nil {
		t.Fatal(err)
	}
	return full, small
}

// A face 20 px between the eyes in a 1080p frame is 7 px in the detection
// frame: found there, but its chip only keeps its detail when it is cut
// from the full picture. The full-resolution chip then embeds like the
// face detected in the full frame itself.
func TestFullResolutionChips(t *testing.T) {
	e := newTestEngine(t, facePlugin(t))
	full, small := cameraFrame(t, 150, 900, 400)

	ref, refEmbs, err := e.Recognize(full, nil)
	if err != nil || len(ref) != 1 {
		t.Fatalf("full frame: %d faces, %v; want 1", len(ref), err)
	}
	faces640, embs640, err := e.Recognize(small, nil)
	if err != nil || len(faces640) != 1 {
		t.Fatalf("detection frame: %d faces, %v; want 1", len(faces640), err)
	}
	withFull := &recognizer.Image{W: small.W, H: small.H, Pix: small.Pix, Full: full}
	faces, embs, err := e.Recognize(withFull, nil)
	if err != nil || len(faces) != 1 {
		t.Fatalf("detection frame with full picture: %d faces, %v; want 1", len(faces), err)
	}
	if faces[0].Box != faces640[0].Box {
		t.Errorf("box %+v, want the detection frame's %+v: faces keep its coordinates", faces[0].Box, faces640[0].Box)
	}
	if got, want := faces[0].Quality.InterOcular, 3*faces[0].InterOcular(); math.Abs(float64(got-want)) > 0.01*float64(want) {
		t.Errorf("quality inter-ocular %.1f, want %.1f (full-picture pixels)", got, want)
	}
	s640 := recognizer.Dot(embs640[0].Vec, refEmbs[0].Vec)
	sFull := recognizer.Dot(embs[0].Vec, refEmbs[0].Vec)
	t.Logf("cosine to the full-frame embedding: 640 chip %.3f, full-resolution chip %.3f; inter-ocular %.1f px -> %.1f px",
		s640, sFull, faces640[0].InterOcular(), faces[0].Quality.InterOcular)
	if sFull < 0.9 || sFull <= s640 {
		t.Errorf("full-resolution chip: cosine %.3f to the full frame's embedding (640 chip %.3f), want at least 0.9 and more", sFull, s640)
	}

	// Embed and Features cut the same chips as Recognize.
	again, err := e.Embed(withFull, faces)
	if err != nil {
		t.Fatal(err)
	}
	if s := recognizer.Dot(again[0].Vec, embs[0].Vec); s < 0.9999 {
		t.Errorf("Embed: cosine %.5f to Recognize's embedding, want the same", s)
	}
	if err := e.AlignOnly(withFull, faces); err != nil {
		t.Fatal(err)
	}
}

// A face cut by the frame's edge still gets a chip, with what the picture
// holds of it.
func TestFullResolutionChipAtTheEdge(t *testing.T) {
	e := newTestEngine(t, facePlugin(t))
	full, small := cameraFrame(t, 240, 1920-200, 1080-200)
	withFull := &recognizer.Image{W: small.W, H: small.H, Pix: small.Pix, Full: full}
	faces, embs, err := e.Recognize(withFull, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range faces {
		if len(embs[i].Vec) != e.Dim() {
			t.Errorf("face %d: %d-dim embedding, want %d", i, len(embs[i].Vec), e.Dim())
		}
	}
	// A face whose landmarks lie outside the picture gets the black chip
	// of the detection frame, not an error.
	out := recognizer.Face{Box: recognizer.Rect{X: -500, Y: -500, W: 40, H: 40}, Score: 1}
	out.Landmarks = [5]recognizer.Point{{X: -490, Y: -490}, {X: -470, Y: -490}, {X: -480, Y: -480}, {X: -488, Y: -470}, {X: -472, Y: -470}}
	if _, err := e.Embed(withFull, []recognizer.Face{out}); err != nil {
		t.Fatalf("face outside the picture: %v", err)
	}
}
