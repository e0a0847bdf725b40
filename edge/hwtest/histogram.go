package hwtest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The face-size histogram: how many faces of each size a camera saw,
// coloured as the snapshot overlay colours them, with MinInterOcular and
// GoodInterOcular marked.
const (
	histMax  = 80.0 // px: larger faces land in the last bin
	histBins = 20

	// Size of the PNG in pixels; the page scales it to the camera's card.
	histW, histH = 540, 200
)

// The page's colours: bars as the overlay's boxes, threshold lines as the
// FAIL and PASS badges.
var (
	sizeColours = map[string]color.RGBA{
		"small":    {0xff, 0x4d, 0x4d, 0xff},
		"marginal": {0xf1, 0xc4, 0x0f, 0xff},
		"good":     {0x2e, 0xcc, 0x71, 0xff},
	}
	minLine  = color.RGBA{0xc6, 0x28, 0x28, 0xff}
	goodLine = color.RGBA{0x1f, 0x8a, 0x4c, 0xff}
	sans     = font.Font{Typeface: "Liberation", Variant: "Sans"}
)

// binFaces counts faces into histBins bins of equal width from 0 to
// histMax pixels between the eyes, each face's distance multiplied by
// scale (CameraReport.SizeScale).
func binFaces(faces []FaceSeen, scale float64) [histBins]int {
	var counts [histBins]int
	for _, f := range faces {
		i := int(float64(f.IOD) * scale / histMax * histBins)
		counts[min(max(i, 0), histBins-1)]++
	}
	return counts
}

// histogramPNG draws the face-size histogram of faces as a PNG, sizes
// multiplied by scale.
func histogramPNG(faces []FaceSeen, scale float64) ([]byte, error) {
	counts := binFaces(faces, scale)
	top := 1
	for _, c := range counts {
		top = max(top, c)
	}

	p := plot.New()
	p.Title.Text = fmt.Sprintf("Faces by size: identified from %.0f px, reliably from %.0f px (dashed lines)", MinInterOcular, GoodInterOcular)
	p.Title.TextStyle.Font = font.From(sans, 10)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text, p.Y.Label.Text = "Distance between the eyes (px)", "Faces"
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(sans, 10)
		ax.Tick.Label.Font = font.From(sans, 9)
		ax.Label.Padding = vg.Points(3)
		ax.Padding = 0 // the axes meet at the origin, under the bars
	}
	p.X.Tick.Marker = plot.ConstantTicks{{Value: 0, Label: "0"}, {Value: 16, Label: "16"}, {Value: 32, Label: "32"},
		{Value: 48, Label: "48"}, {Value: 64, Label: "64"}, {Value: histMax, Label: fmt.Sprintf("%.0f+", histMax)}}
	p.Y.Tick.Marker = countTicks{}

	// One plotter per size class, so each has its colour.
	width := histMax / histBins
	bars := map[string]*plotter.Histogram{}
	for i, c := range counts {
		if c == 0 {
			continue
		}
		lo := float64(i) * width
		class := sizeClass(lo + width/2)
		h := bars[class]
		if h == nil {
			h = &plotter.Histogram{Width: width, FillColor: sizeColours[class],
				LineStyle: draw.LineStyle{Color: color.White, Width: vg.Points(0.75)}}
			bars[class] = h
		}
		h.Bins = append(h.Bins, plotter.HistogramBin{Min: lo, Max: lo + width, Weight: float64(c)})
	}
	for _, class := range []string{"small", "marginal", "good"} {
		if h := bars[class]; h != nil {
			p.Add(h)
		}
	}
	yMax := float64(top) * 1.08
	for _, t := range []struct {
		x   float64
		col color.RGBA
	}{{MinInterOcular, minLine}, {GoodInterOcular, goodLine}} {
		l, err := plotter.NewLine(plotter.XYs{{X: t.x, Y: 0}, {X: t.x, Y: yMax}})
		if err != nil {
			return nil, err
		}
		l.LineStyle = draw.LineStyle{Color: t.col, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
		p.Add(l)
	}
	p.X.Min, p.X.Max = 0, histMax
	p.Y.Min, p.Y.Max = 0, yMax

	img := image.NewRGBA(image.Rect(0, 0, histW, histH))
	canvas := vgimg.NewWith(vgimg.UseImage(img), vgimg.UseDPI(96))
	// A margin on the right, where the last tick label sticks out.
	p.Draw(draw.Crop(draw.New(canvas), vg.Points(4), -vg.Points(10), vg.Points(3), -vg.Points(6)))
	var b bytes.Buffer
	if err := png.Encode(&b, canvas.Image()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// countTicks marks whole numbers of faces only, labelled without decimals:
// the default ticks put halves on the axis when few faces were seen.
type countTicks struct{}

func (countTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(lo, hi) {
		if t.Value != math.Trunc(t.Value) {
			continue
		}
		if !t.IsMinor() {
			t.Label = strconv.Itoa(int(t.Value))
		}
		ts = append(ts, t)
	}
	return ts
}
