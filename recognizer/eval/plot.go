package eval

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Curve is one named DET curve to plot.
type Curve struct {
	Name   string
	Points []DETPoint
}

// DETPlot describes a DET chart: FPIR on a logarithmic x axis against FNIR
// on a logarithmic y axis, both from 0.1% to 100%. Zero fields take the
// defaults PlotDET uses.
type DETPlot struct {
	Title  string
	XLabel string // default "False positive identification rate (FPIR)"
	YLabel string // default "False negative identification rate (FNIR)"
	Width  int    // pixels, default 900
	Height int    // pixels, default 700
	// MarkFPIR is where each curve gets a marker and its legend entry its
	// FNIR; default 0.01.
	MarkFPIR float64
	Curves   []Curve
}

// PlotDET writes a 900x700 PNG with the given curves, each marked at
// FPIR = 1%.
func PlotDET(w io.Writer, title string, curves []Curve) error {
	return DETPlot{Title: title, Curves: curves}.Render(w)
}

// PlotDETFile is PlotDET into a file, which is removed again if writing
// fails so no truncated PNG is left behind.
func PlotDETFile(path, title string, curves []Curve) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	return PlotDET(f, title, curves)
}

// Render encodes the chart as PNG.
func (p DETPlot) Render(w io.Writer) error {
	img, err := p.Image()
	if err != nil {
		return err
	}
	return png.Encode(w, img)
}

// Axis range, in both directions, and its labelled decades.
const (
	plotMin = 1e-3
	plotMax = 1.0
)

var decades = []float64{1e-3, 1e-2, 1e-1, 1}

var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xff, 0x7f, 0x0e, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff},
	{0x17, 0xbe, 0xcf, 0xff},
}

var (
	ink       = color.RGBA{0x20, 0x20, 0x20, 0xff}
	gridMajor = draw.LineStyle{Color: color.RGBA{0xbe, 0xbe, 0xbe, 0xff}, Width: vg.Points(0.75)}
	gridMinor = draw.LineStyle{Color: color.RGBA{0xe6, 0xe6, 0xe6, 0xff}, Width: vg.Points(0.75)}
	sans      = font.Font{Typeface: "Liberation", Variant: "Sans"}
)

// dpi relates the pixel sizes of DETPlot to gonum/plot's points.
const dpi = 96

// Image draws the chart.
func (p DETPlot) Image() (*image.RGBA, error) {
	if p.Width == 0 {
		p.Width = 900
	}
	if p.Height == 0 {
		p.Height = 700
	}
	if p.XLabel == "" {
		p.XLabel = "False positive identification rate (FPIR)"
	}
	if p.YLabel == "" {
		p.YLabel = "False negative identification rate (FNIR)"
	}
	if p.MarkFPIR == 0 {
		p.MarkFPIR = 0.01
	}
	if p.Width < 400 || p.Height < 300 || p.Width > 8000 || p.Height > 8000 {
		return nil, fmt.Errorf("plot size %dx%d: need between 400x300 and 8000x8000", p.Width, p.Height)
	}
	if !(p.MarkFPIR > 0 && p.MarkFPIR <= 1) {
		return nil, fmt.Errorf("marker FPIR %v is outside (0, 1]", p.MarkFPIR)
	}
	if len(p.Curves) == 0 {
		return nil, errors.New("plot: no curves")
	}
	for _, c := range p.Curves {
		if len(c.Points) == 0 {
			return nil, fmt.Errorf("plot: curve %q has no points", c.Name)
		}
		for k, pt := range c.Points {
			if !(pt.FPIR >= 0 && pt.FPIR <= 1 && pt.FNIR >= 0 && pt.FNIR <= 1) {
				return nil, fmt.Errorf("plot: curve %q point %d: FPIR %v, FNIR %v outside [0, 1]", c.Name, k, pt.FPIR, pt.FNIR)
			}
		}
	}

	plt := plot.New()
	plt.Title.Text = p.Title
	plt.Title.TextStyle.Font = font.From(sans, 16)
	plt.Title.Padding = vg.Points(10)
	for _, ax := range []*plot.Axis{&plt.X, &plt.Y} {
		ax.Tick.Marker = rateTicks{}
		ax.Label.TextStyle.Font = font.From(sans, 12)
		ax.Tick.Label.Font = font.From(sans, 10.5)
		ax.Label.Padding = vg.Points(6)
	}
	plt.X.Label.Text, plt.Y.Label.Text = p.XLabel, p.YLabel
	plt.Add(rateGrid{})

	legend := plot.NewLegend()
	legend.TextStyle.Font = font.From(sans, 10.5)
	legend.ThumbnailWidth = vg.Points(28)
	legend.Padding = vg.Points(5)
	var markers []plot.Plotter // drawn last, so no line hides a marker
	for k, c := range p.Curves {
		col := palette[k%len(palette)]
		xys := make(plotter.XYs, len(c.Points))
		for j, pt := range c.Points {
			xys[j] = plotter.XY{X: onAxis(pt.FPIR), Y: onAxis(pt.FNIR)}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("plot: curve %q: %w", c.Name, err)
		}
		line.Color, line.Width = col, vg.Points(2)
		plt.Add(line)
		if len(xys) == 1 {
			// A lone point draws no line; show it as a dot.
			dot, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, fmt.Errorf("plot: curve %q: %w", c.Name, err)
			}
			dot.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			plt.Add(dot)
		}
		fnir, ok := fnirAt(c.Points, p.MarkFPIR)
		if !ok {
			legend.Add(c.Name, line)
			continue
		}
		mark, err := plotter.NewScatter(plotter.XYs{{X: onAxis(p.MarkFPIR), Y: onAxis(fnir)}})
		if err != nil {
			return nil, fmt.Errorf("plot: curve %q: %w", c.Name, err)
		}
		mark.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(4.5), Shape: ringedDot{}}
		markers = append(markers, mark)
		legend.Add(fmt.Sprintf("%s  (%s %s at %s %s)", c.Name, abbrev(p.YLabel), percent(fnir), abbrev(p.XLabel), percent(p.MarkFPIR)), line, mark)
	}
	plt.Add(markers...)
	// Add widened the axes to the data, which reaches below plotMin where
	// a rate is 0; the chart keeps its fixed range.
	plt.X.Min, plt.X.Max = onAxis(plotMin), onAxis(plotMax)
	plt.Y.Min, plt.Y.Max = plt.X.Min, plt.X.Max

	img := image.NewRGBA(image.Rect(0, 0, p.Width, p.Height))
	canvas := vgimg.NewWith(vgimg.UseImage(img), vgimg.UseDPI(dpi))
	// A margin around everything, wider on the right where the last tick
	// label sticks out.
	area := draw.Crop(draw.New(canvas), vg.Points(8), -vg.Points(16), vg.Points(6), -vg.Points(10))
	plt.Draw(area)
	drawLegend(plt.DataCanvas(area), legend)
	out, ok := canvas.Image().(*image.RGBA)
	if !ok {
		return nil, fmt.Errorf("plot: canvas is a %T, not RGBA", canvas.Image())
	}
	return out, nil
}

// onAxis maps a rate to where it is drawn. Both axes are linear in the
// rate's decimal logarithm, with ticks labelled in percent: plot.LogScale
// would draw the same, but gonum/plot places the axis titles for padding
// as if the axis were linear, which leaves wide empty margins. Rates below
// the axis minimum, 0 included (it has no logarithm), sit one decade
// beyond the axis, so lines towards them leave the frame at its edge
// instead of bunching up on it.
func onAxis(v float64) float64 { return math.Log10(max(v, plotMin/10)) }

// rateTicks labels each decade of a rate axis as a percentage and puts an
// unlabelled tick at 2..9 times it.
type rateTicks struct{}

func (rateTicks) Ticks(lo, hi float64) []plot.Tick {
	const slack = 1e-9 // log10 of a decade is not always exact
	var ts []plot.Tick
	for _, dec := range decades {
		for m := 1; m <= 9; m++ {
			v := dec * float64(m)
			pos := onAxis(v)
			if pos < lo-slack || pos > hi+slack {
				continue
			}
			t := plot.Tick{Value: pos}
			if m == 1 {
				t.Label = percent(v)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// rateGrid draws a line at every tick of both axes, fainter at the minor
// ones so values between decades can be read off, and frames the data
// area. (plotter.Grid draws major ticks only.)
type rateGrid struct{}

func (rateGrid) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	style := func(t plot.Tick) draw.LineStyle {
		if t.IsMinor() {
			return gridMinor
		}
		return gridMajor
	}
	for _, t := range plt.X.Tick.Marker.Ticks(plt.X.Min, plt.X.Max) {
		x := trX(t.Value)
		c.StrokeLine2(style(t), x, c.Min.Y, x, c.Max.Y)
	}
	for _, t := range plt.Y.Tick.Marker.Ticks(plt.Y.Min, plt.Y.Max) {
		y := trY(t.Value)
		c.StrokeLine2(style(t), c.Min.X, y, c.Max.X, y)
	}
	strokeRect(c, c.Rectangle, draw.LineStyle{Color: ink, Width: vg.Points(0.75)})
}

// ringedDot is a filled circle with a dark rim, visible on its own curve.
type ringedDot struct{}

func (ringedDot) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetColor(ink)
	draw.CircleGlyph{}.DrawGlyph(c, sty, pt)
	c.SetColor(sty.Color)
	sty.Radius -= vg.Points(1.25)
	draw.CircleGlyph{}.DrawGlyph(c, sty, pt)
}

// drawLegend draws l on a white box in the top-right corner of the data
// area, where DET curves rarely go (high FPIR together with high FNIR).
// The box keeps grid lines from running through the text.
func drawLegend(c draw.Canvas, l plot.Legend) {
	pad := vg.Points(6)
	size := l.Rectangle(c).Size()
	// Legend.Draw lays its entries out from the top-left corner of the
	// canvas it is given, so give it one of just the legend's size.
	in := c
	in.Max = vg.Point{X: c.Max.X - 2*pad, Y: c.Max.Y - 2*pad}
	in.Min = vg.Point{X: in.Max.X - size.X, Y: in.Max.Y - size.Y - l.TextStyle.FontExtents().Descent}
	box := vg.Rectangle{Min: in.Min.Sub(vg.Point{X: pad, Y: pad}), Max: in.Max.Add(vg.Point{X: pad, Y: pad})}
	c.SetColor(color.White)
	c.Fill(box.Path())
	strokeRect(c, box, gridMajor)
	l.Left, l.Top = true, true
	l.Draw(in)
}

func strokeRect(c draw.Canvas, r vg.Rectangle, sty draw.LineStyle) {
	c.StrokeLines(sty, []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min})
}

// abbrev is the short name of a rate in its axis title, "FAR" in "False
// accept rate (FAR)", or the whole title when it has none.
func abbrev(title string) string {
	open, end := strings.LastIndex(title, "("), strings.LastIndex(title, ")")
	if open < 0 || end < open+2 {
		return title
	}
	return title[open+1 : end]
}

// fnirAt reads a curve at an FPIR target the way AtFPIR does: the lowest
// FNIR among points whose FPIR does not exceed it.
func fnirAt(pts []DETPoint, target float64) (float64, bool) {
	best, ok := 0.0, false
	for _, pt := range pts {
		if pt.FPIR <= target && (!ok || pt.FNIR < best) {
			best, ok = pt.FNIR, true
		}
	}
	return best, ok
}

// percent formats a rate for tick labels and the legend: 0.001 -> "0.1%",
// 0.344 -> "34.4%", 1 -> "100%".
func percent(v float64) string {
	pc := v * 100
	switch {
	case pc == math.Trunc(pc):
		return fmt.Sprintf("%.0f%%", pc)
	case pc < 1:
		return fmt.Sprintf("%.2g%%", pc)
	}
	return fmt.Sprintf("%.1f%%", pc)
}
