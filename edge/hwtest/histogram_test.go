package hwtest

import (
	"bytes"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/testenv"
)

// siteFaces is a camera's worth of faces of every size class, a few
// beyond the histogram's last bin.
func siteFaces() []FaceSeen {
	var faces []FaceSeen
	add := func(n int, iod float32) {
		for range n {
			faces = append(faces, FaceSeen{IOD: iod})
		}
	}
	add(4, 6)
	add(7, 13)
	add(12, 18)
	add(20, 25)
	add(16, 30)
	add(30, 36)
	add(26, 42)
	add(11, 55)
	add(3, 120)
	return faces
}

func TestBinFaces(t *testing.T) {
	counts := binFaces([]FaceSeen{{IOD: -1}, {IOD: 0}, {IOD: 3.9}, {IOD: 16}, {IOD: 31.9}, {IOD: 32}, {IOD: 79.9}, {IOD: 80}, {IOD: 500}}, 1)
	want := map[int]int{0: 3, 4: 1, 7: 1, 8: 1, histBins - 1: 3}
	for i, c := range counts {
		if c != want[i] {
			t.Errorf("bin %d (%.0f-%.0f px): %d faces, want %d", i, float64(i)*4, float64(i+1)*4, c, want[i])
		}
	}
	// Sizes in the pixels faces are cut from: 8 frame pixels at twice
	// the frame's resolution fall in the 16-20 px bin.
	if got := binFaces([]FaceSeen{{IOD: 8}}, 2); got[4] != 1 {
		t.Errorf("8 px at scale 2: bins %v, want the face in bin 4", got)
	}
}

// TestHistogramPNG draws the histogram, reads the PNG back and looks for
// the bars of all three size classes and both threshold lines; the chart
// is kept under var/artifacts (or $DOZOR_ARTIFACTS) for people to look at.
func TestHistogramPNG(t *testing.T) {
	data, err := histogramPNG(siteFaces(), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{t.TempDir(), testenv.ArtifactDir(t)} {
		file := filepath.Join(dir, "hwtest-face-sizes.png")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		img := testenv.DecodePNG(t, file, histW, histH)
		for name, c := range map[string]color.RGBA{
			"small bars": sizeColours["small"], "marginal bars": sizeColours["marginal"], "good bars": sizeColours["good"],
			"10 px line": minLine, "32 px line": goodLine,
		} {
			if n := testenv.CountColour(img, c); n < 40 {
				t.Errorf("%s: %d pixels of %v", name, n, c)
			}
		}
		t.Logf("face-size histogram: %s", file)
	}
}

// TestWriteHTMLHistogram checks the report folder holds a histogram for
// the camera that saw faces, shown by the page, and none for the one
// that did not.
func TestWriteHTMLHistogram(t *testing.T) {
	dir := t.TempDir()
	r := &Report{Verdict: Pass, Cameras: []CameraReport{
		{ID: "gate 1", Streaming: true, FaceCount: len(siteFaces()), Faces: siteFaces()},
		{ID: "yard", Streaming: true},
	}}
	if err := r.WriteHTML(dir); err != nil {
		t.Fatal(err)
	}
	img := testenv.DecodePNG(t, filepath.Join(dir, "faces-gate_1.png"), histW, histH)
	if n := testenv.CountColour(img, sizeColours["good"]); n < 40 {
		t.Errorf("histogram in the report: %d pixels of good bars", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "faces-yard.png")); !os.IsNotExist(err) {
		t.Errorf("a histogram for a camera without faces: %v", err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), `<img class="hist"`); n != 1 || !bytes.Contains(page, []byte(`src="faces-gate_1.png"`)) {
		t.Errorf("index.html shows %d histograms, want the one of gate 1", n)
	}
}

func TestCountTicks(t *testing.T) {
	for _, hi := range []float64{1.08, 3.2, 32.4, 1080} {
		for _, tk := range (countTicks{}).Ticks(0, hi) {
			if tk.Value != float64(int(tk.Value)) || strings.Contains(tk.Label, ".") {
				t.Errorf("0..%v: tick %v labelled %q", hi, tk.Value, tk.Label)
			}
		}
	}
}

// With faces cut from a larger picture, the page labels the overlay boxes
// and draws the chart in that picture's pixels, and says so.
func TestWriteHTMLSizesInThePictureFacesAreCutFrom(t *testing.T) {
	dir := t.TempDir()
	small := []FaceSeen{{X: 10, Y: 10, W: 20, H: 20, IOD: 12}}
	r := &Report{Verdict: Pass, Cameras: []CameraReport{
		{ID: "corridor", Streaming: true, FaceCount: 1, Faces: small, IODP90: 12, IODMax: 12, SizeScale: 3,
			FrameW: 640, FrameH: 360, Snapshot: []byte{0xff, 0xd8, 0xff}},
	}}
	if err := r.WriteHTML(dir); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{">36 px<", "a picture 3.0 times larger (recognizer.chip_max_side)"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if strings.Contains(string(page), ">12 px<") {
		t.Error("index.html labels a face in detection-frame pixels")
	}
	// 36 px is identifiable: no bar in the "too small" colour.
	img := testenv.DecodePNG(t, filepath.Join(dir, "faces-corridor.png"), histW, histH)
	if n := testenv.CountColour(img, sizeColours["small"]); n != 0 {
		t.Errorf("histogram draws a 36 px face as too small (%d pixels)", n)
	}
}
