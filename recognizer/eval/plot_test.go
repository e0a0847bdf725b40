package eval

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleCurves builds DET curves from synthetic, well-separated score
// distributions with a fixed seed, so the plot looks like a real one.
func sampleCurves(t *testing.T) []Curve {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func(n int, mean, sd float64) []float64 {
		x := make([]float64, n)
		for k := range x {
			x[k] = mean + sd*rng.NormFloat64()
		}
		return x
	}
	systems := []struct {
		name       string
		gMean, gSD float64
	}{
		{"strong model", 0.72, 0.10},
		{"weak model", 0.58, 0.14},
		{"profile probes", 0.45, 0.15},
	}
	imp := gen(3000, 0.25, 0.08)
	var curves []Curve
	for _, s := range systems {
		pts, err := DET(gen(1500, s.gMean, s.gSD), imp)
		if err != nil {
			t.Fatal(err)
		}
		curves = append(curves, Curve{Name: s.name, Points: pts})
	}
	return curves
}

func TestPlotDET(t *testing.T) {
	curves := sampleCurves(t)
	var buf bytes.Buffer
	if err := PlotDET(&buf, "Open-set identification, synthetic scores", curves); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, 900, 700) {
		t.Fatalf("size %v, want 900x700", got)
	}
	// Every curve colour must appear somewhere, or a curve was lost.
	for k := range curves {
		want := palette[k]
		found := false
		for y := 0; y < 700 && !found; y++ {
			for x := 0; x < 900; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				if uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(b>>8) == want.B {
					found = true
					break
				}
			}
		}
		if !found {
			t.Errorf("colour of curve %d (%s) not found in the plot", k, curves[k].Name)
		}
	}

	file := filepath.Join(t.TempDir(), "det.png")
	if err := PlotDETFile(file, "Open-set identification, synthetic scores", curves); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, buf.Bytes()) {
		t.Errorf("PlotDETFile wrote different bytes from PlotDET")
	}
	// DOZOR_PLOT_OUT lets a person look at the sample chart.
	if dir := os.Getenv("DOZOR_PLOT_OUT"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "eval_det_sample.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPlotDETErrors(t *testing.T) {
	ok := []DETPoint{{0.5, 0.01, 0.2}, {0.6, 0, 1}}
	tests := []struct {
		name   string
		curves []Curve
		want   string
	}{
		{"no curves", nil, "no curves"},
		{"empty curve", []Curve{{Name: "a"}}, `curve "a" has no points`},
		{"rate above one", []Curve{{Name: "b", Points: []DETPoint{{0, 1.5, 0}}}}, `curve "b" point 0`},
		{"negative rate", []Curve{{Name: "c", Points: []DETPoint{{0, 0.1, -0.1}}}}, `curve "c" point 0`},
		{"nan rate", []Curve{{Name: "d", Points: ok}, {Name: "e", Points: []DETPoint{{0, nan, 0}}}}, `curve "e" point 0`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := PlotDET(&bytes.Buffer{}, "x", tc.curves)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if err := PlotDETFile(filepath.Join(t.TempDir(), "no", "such", "dir.png"), "x", []Curve{{Name: "a", Points: ok}}); err == nil {
		t.Errorf("PlotDETFile into a missing directory succeeded")
	}
	bad := filepath.Join(t.TempDir(), "bad.png")
	if err := PlotDETFile(bad, "x", nil); err == nil {
		t.Errorf("PlotDETFile without curves succeeded")
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("failed PlotDETFile left %s behind", bad)
	}
}

func TestPlotSinglePointAndZeroRates(t *testing.T) {
	// A perfect system has FNIR 0, which has no logarithm; it must still
	// draw (off the bottom edge) rather than fail.
	curves := []Curve{
		{Name: "perfect", Points: []DETPoint{{0.1, 1, 0}, {0.5, 0, 0}, {0.9, 0, 1}}},
		{Name: "single", Points: []DETPoint{{0.5, 0.05, 0.05}}},
	}
	var buf bytes.Buffer
	if err := PlotDET(&buf, "edge cases", curves); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&buf); err != nil {
		t.Fatal(err)
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0.001, "0.1%"}, {0.01, "1%"}, {0.1, "10%"}, {1, "100%"},
		{0.344, "34.4%"}, {0.0086, "0.86%"}, {0, "0%"},
	}
	for _, tc := range tests {
		if got := percent(tc.v); got != tc.want {
			t.Errorf("percent(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestGoFontGlyphs(t *testing.T) {
	f, err := loadGoFont()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range "AHgy0%()." {
		g := f.glyphIndex(r)
		if g == 0 {
			t.Errorf("no glyph for %q", r)
			continue
		}
		if f.advance(g) <= 0 {
			t.Errorf("glyph for %q has advance %v", r, f.advance(g))
		}
		cs, err := f.contours(g)
		if err != nil || len(cs) == 0 {
			t.Errorf("glyph for %q: %d contours, err %v", r, len(cs), err)
		}
	}
	// An accented letter is an outline of its own in this font.
	if cs, err := f.contours(f.glyphIndex('é')); err != nil || len(cs) < 2 {
		t.Errorf("é: %d contours, err %v", len(cs), err)
	}
	face, _ := newTextFace(20)
	if w := face.width("MMMM"); w < 40 || w > 80 {
		t.Errorf("width of MMMM at 20px is %v, want 40..80", w)
	}
	// Drawing "H" must darken pixels inside its box and leave the image
	// white away from it.
	img := image.NewRGBA(image.Rect(0, 0, 40, 40))
	for k := range img.Pix {
		img.Pix[k] = 0xff
	}
	face.draw(img, "H", 5, 30, false, palette[0])
	dark := 0
	for y := 0; y < 40; y++ {
		for x := 0; x < 40; x++ {
			if img.RGBAAt(x, y).R < 0x80 {
				dark++
				if x < 5 || y > 31 {
					t.Fatalf("ink at (%d,%d), outside the glyph box", x, y)
				}
			}
		}
	}
	if dark < 20 {
		t.Errorf("only %d dark pixels for \"H\"", dark)
	}
}
