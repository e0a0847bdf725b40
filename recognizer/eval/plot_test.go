package eval

import (
	"bytes"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/testenv"
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

// checkCurves fails when a curve's colour covers too few pixels to be a
// line across the chart: the legend's sample alone stays under the bound.
func checkCurves(t *testing.T, img image.Image, curves []Curve, atLeast int) {
	t.Helper()
	for k, c := range curves {
		if n := testenv.CountColour(img, palette[k]); n < atLeast {
			t.Errorf("curve %d (%s): %d pixels of its colour %v, want at least %d", k, c.Name, n, palette[k], atLeast)
		}
	}
}

func TestPlotDET(t *testing.T) {
	curves := sampleCurves(t)
	const title = "Open-set identification, synthetic scores"
	var buf bytes.Buffer
	if err := PlotDET(&buf, title, curves); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{t.TempDir(), testenv.ArtifactDir(t)} {
		file := filepath.Join(dir, "eval-det.png")
		if err := PlotDETFile(file, title, curves); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, buf.Bytes()) {
			t.Errorf("PlotDETFile wrote different bytes from PlotDET")
		}
		checkCurves(t, testenv.DecodePNG(t, file, 900, 700), curves, 300)
		t.Logf("DET plot: %s", file)
	}
}

// TestPlotVerificationLabels draws a chart the way the verification
// report does: other axis titles and another size.
func TestPlotVerificationLabels(t *testing.T) {
	curves := sampleCurves(t)[:1]
	p := DETPlot{Title: "lfw verify: synthetic", XLabel: "False accept rate (FAR)", YLabel: "False reject rate (FRR)",
		Width: 1200, Height: 800, Curves: curves}
	file := filepath.Join(testenv.ArtifactDir(t), "eval-det-verify.png")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Render(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkCurves(t, testenv.DecodePNG(t, file, 1200, 800), curves, 300)
	t.Logf("DET plot: %s", file)
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
	for _, p := range []DETPlot{
		{Width: 300, Curves: []Curve{{Name: "a", Points: ok}}},
		{Height: 9000, Curves: []Curve{{Name: "a", Points: ok}}},
		{MarkFPIR: 1.5, Curves: []Curve{{Name: "a", Points: ok}}},
	} {
		if err := p.Render(&bytes.Buffer{}); err == nil {
			t.Errorf("%dx%d, mark %v: rendered", p.Width, p.Height, p.MarkFPIR)
		}
	}
}

func TestPlotSinglePointAndZeroRates(t *testing.T) {
	// A perfect system has FNIR 0, which has no logarithm; it must still
	// draw (off the bottom edge) rather than fail.
	curves := []Curve{
		{Name: "perfect", Points: []DETPoint{{0.1, 1, 0}, {0.5, 0, 0}, {0.9, 0, 1}}},
		{Name: "single", Points: []DETPoint{{0.5, 0.05, 0.05}}},
	}
	img, err := DETPlot{Title: "edge cases", Curves: curves}.Image()
	if err != nil {
		t.Fatal(err)
	}
	// FNIR 0 lies beyond the bottom edge, so the perfect curve shows only
	// in the legend; the lone point is a dot, well below the legend.
	below := img.SubImage(image.Rect(0, 200, 900, 700))
	if n := testenv.CountColour(below, palette[1]); n < 10 {
		t.Errorf("lone point: %d pixels of its colour below the legend", n)
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

func TestRateTicks(t *testing.T) {
	ticks := rateTicks{}.Ticks(onAxis(plotMin), onAxis(plotMax))
	var labels []string
	for _, tk := range ticks {
		if !tk.IsMinor() {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0.1% 1% 10% 100%" || len(ticks) != 28 {
		t.Errorf("%d ticks labelled %q, want 28 labelled \"0.1%% 1%% 10%% 100%%\"", len(ticks), got)
	}
}

func TestAbbrev(t *testing.T) {
	testenv.CheckFunc(t, "abbrev", abbrev, map[string]string{
		"False accept rate (FAR)":                   "FAR",
		"False negative identification rate (FNIR)": "FNIR",
		"miss rate": "miss rate",
		"odd ()":    "odd ()",
		"odd ) (":   "odd ) (",
	})
}
