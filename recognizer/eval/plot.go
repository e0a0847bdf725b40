package eval

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"
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
	Width  int    // default 900
	Height int    // default 700
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

	titleFace, err := newTextFace(22)
	if err != nil {
		return nil, err
	}
	labelFace, tickFace := titleFace, titleFace
	labelFace.size, tickFace.size = 16, 14

	img := image.NewRGBA(image.Rect(0, 0, p.Width, p.Height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	frame := image.Rect(100, 70, p.Width-30, p.Height-80)
	ax := axes{frame: frame}

	black := color.RGBA{0x20, 0x20, 0x20, 0xff}
	gridMajor := color.RGBA{0xbe, 0xbe, 0xbe, 0xff}
	gridMinor := color.RGBA{0xe6, 0xe6, 0xe6, 0xff}

	// Grid: a line at every decade and fainter ones at 2..9 times it.
	for _, dec := range decades {
		for m := 1; m <= 9; m++ {
			v := dec * float64(m)
			if v > plotMax {
				break
			}
			c := gridMinor
			if m == 1 {
				c = gridMajor
			}
			x := int(math.Round(ax.x(v)))
			y := int(math.Round(ax.y(v)))
			for yy := frame.Min.Y; yy < frame.Max.Y; yy++ {
				img.SetRGBA(min(x, frame.Max.X-1), yy, c)
			}
			for xx := frame.Min.X; xx < frame.Max.X; xx++ {
				img.SetRGBA(xx, max(y, frame.Min.Y), c)
			}
		}
	}
	// Frame and decade ticks with labels.
	strokeRect(img, frame, black)
	for _, dec := range decades {
		label := percent(dec)
		x := min(int(math.Round(ax.x(dec))), frame.Max.X-1)
		y := max(int(math.Round(ax.y(dec))), frame.Min.Y)
		for k := 1; k <= 6; k++ {
			img.SetRGBA(x, frame.Max.Y+k, black)
			img.SetRGBA(frame.Min.X-k, y, black)
		}
		drawText(img, tickFace, label, x, frame.Max.Y+24, 0.5, black)
		drawText(img, tickFace, label, frame.Min.X-10, y+vcenter(tickFace), 1, black)
	}
	drawText(img, titleFace, p.Title, (frame.Min.X+frame.Max.X)/2, 42, 0.5, black)
	drawText(img, labelFace, p.XLabel, (frame.Min.X+frame.Max.X)/2, frame.Max.Y+58, 0.5, black)
	drawTextUp(img, labelFace, p.YLabel, 32, (frame.Min.Y+frame.Max.Y)/2, black)

	// Curves, then markers on top so no line hides a marker.
	type mark struct {
		x, y float64
		c    color.RGBA
	}
	var marks []mark
	legend := make([]string, len(p.Curves))
	for k, c := range p.Curves {
		col := palette[k%len(palette)]
		m := newMask(frame)
		for j := 1; j < len(c.Points); j++ {
			a, b := c.Points[j-1], c.Points[j]
			m.segment(ax.x(a.FPIR), ax.y(a.FNIR), ax.x(b.FPIR), ax.y(b.FNIR), 1.3)
		}
		if len(c.Points) == 1 {
			m.disc(ax.x(c.Points[0].FPIR), ax.y(c.Points[0].FNIR), 2.5)
		}
		m.paint(img, col)
		fnir, ok := fnirAt(c.Points, p.MarkFPIR)
		legend[k] = c.Name
		if ok {
			legend[k] = fmt.Sprintf("%s  (FNIR %s at FPIR %s)", c.Name, percent(fnir), percent(p.MarkFPIR))
			marks = append(marks, mark{ax.x(p.MarkFPIR), ax.y(fnir), col})
		}
	}
	for _, mk := range marks {
		drawMarker(img, frame, mk.x, mk.y, mk.c)
	}

	// Legend in the top-right corner, where DET curves rarely go (high
	// FPIR together with high FNIR).
	textW := 0
	for _, s := range legend {
		textW = max(textW, int(math.Ceil(tickFace.width(s))))
	}
	const rowH, sample, pad = 24, 34, 10
	top := frame.Min.Y + 10
	box := image.Rect(frame.Max.X-10-(pad+sample+8+textW+pad), top, frame.Max.X-10, top+pad+rowH*len(legend)).
		Intersect(frame.Inset(1))
	draw.Draw(img, box, image.White, image.Point{}, draw.Src)
	strokeRect(img, box, gridMajor)
	for k, s := range legend {
		col := palette[k%len(palette)]
		cy := float64(box.Min.Y + pad/2 + rowH*k + rowH/2)
		x0 := float64(box.Min.X + pad)
		m := newMask(box)
		m.segment(x0, cy, x0+sample, cy, 1.3)
		m.paint(img, col)
		drawMarker(img, box, x0+sample/2, cy, col)
		drawText(img, tickFace, s, box.Min.X+pad+sample+8, int(cy)+vcenter(tickFace), 0, black)
	}
	return img, nil
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

// axes maps rates to pixels. Values below the axis minimum (including 0,
// which has no logarithm) map one decade beyond the frame, so lines towards
// them leave the frame at the edge instead of bunching up on it.
type axes struct{ frame image.Rectangle }

func (a axes) frac(v float64) float64 {
	lo, hi := math.Log10(plotMin), math.Log10(plotMax)
	return (math.Log10(max(v, plotMin/10)) - lo) / (hi - lo)
}

func (a axes) x(v float64) float64 {
	return float64(a.frame.Min.X) + a.frac(v)*float64(a.frame.Dx()-1)
}

func (a axes) y(v float64) float64 {
	return float64(a.frame.Max.Y-1) - a.frac(v)*float64(a.frame.Dy()-1)
}

// mask accumulates anti-aliased coverage for one colour inside a clip
// rectangle. Painting a whole curve through one mask keeps overlapping
// segment ends from darkening the joints.
type mask struct {
	clip image.Rectangle
	cov  []float32
}

func newMask(clip image.Rectangle) *mask {
	return &mask{clip: clip, cov: make([]float32, clip.Dx()*clip.Dy())}
}

func (m *mask) add(x, y int, c float64) {
	if c <= 0 {
		return
	}
	i := (y-m.clip.Min.Y)*m.clip.Dx() + (x - m.clip.Min.X)
	if float32(c) > m.cov[i] {
		m.cov[i] = float32(min(c, 1))
	}
}

// bounds returns the clip-limited pixel box around [x0,x1]x[y0,y1].
func (m *mask) bounds(x0, y0, x1, y1 float64) image.Rectangle {
	r := image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1))+1, int(math.Ceil(y1))+1)
	return r.Intersect(m.clip)
}

// segment adds a line of half-width hw from (x0,y0) to (x1,y1).
func (m *mask) segment(x0, y0, x1, y1, hw float64) {
	r := m.bounds(min(x0, x1)-hw-1, min(y0, y1)-hw-1, max(x0, x1)+hw+1, max(y0, y1)+hw+1)
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			t := 0.0
			if l2 > 0 {
				t = max(0, min(1, ((px-x0)*dx+(py-y0)*dy)/l2))
			}
			d := math.Hypot(px-(x0+t*dx), py-(y0+t*dy))
			m.add(x, y, hw+0.5-d)
		}
	}
}

// disc adds a filled circle of radius rad.
func (m *mask) disc(cx, cy, rad float64) {
	r := m.bounds(cx-rad-1, cy-rad-1, cx+rad+1, cy+rad+1)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
			m.add(x, y, rad+0.5-d)
		}
	}
}

func (m *mask) paint(img *image.RGBA, c color.RGBA) {
	w := m.clip.Dx()
	for i, a := range m.cov {
		if a > 0 {
			blend(img, m.clip.Min.X+i%w, m.clip.Min.Y+i/w, c, float64(a))
		}
	}
}

// drawMarker draws a dark-rimmed dot, visible on its own curve.
func drawMarker(img *image.RGBA, clip image.Rectangle, x, y float64, c color.RGBA) {
	rim := newMask(clip)
	rim.disc(x, y, 6.5)
	rim.paint(img, color.RGBA{0x20, 0x20, 0x20, 0xff})
	fill := newMask(clip)
	fill.disc(x, y, 5)
	fill.paint(img, c)
}

func blend(img *image.RGBA, x, y int, c color.RGBA, a float64) {
	o := img.RGBAAt(x, y)
	mix := func(bg, fg uint8) uint8 { return uint8(math.Round(float64(bg)*(1-a) + float64(fg)*a)) }
	img.SetRGBA(x, y, color.RGBA{mix(o.R, c.R), mix(o.G, c.G), mix(o.B, c.B), 0xff})
}

func strokeRect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for x := r.Min.X; x < r.Max.X; x++ {
		img.SetRGBA(x, r.Min.Y, c)
		img.SetRGBA(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		img.SetRGBA(r.Min.X, y, c)
		img.SetRGBA(r.Max.X-1, y, c)
	}
}

// vcenter is the baseline offset that centres capitals and digits
// vertically on a given y.
func vcenter(f textFace) int {
	return int(math.Round(f.capHeight() / 2))
}

// drawText draws s with its baseline at y; align 0 puts x at the left end,
// 0.5 at the centre and 1 at the right end.
func drawText(img *image.RGBA, f textFace, s string, x, y int, align float64, c color.RGBA) {
	f.draw(img, s, float64(x)-f.width(s)*align, float64(y), false, c)
}

// drawTextUp draws s reading bottom to top, centred on (cx, cy), for the
// y axis title.
func drawTextUp(img *image.RGBA, f textFace, s string, cx, cy int, c color.RGBA) {
	f.draw(img, s, float64(cx)+f.capHeight()/2, float64(cy)+f.width(s)/2, true, c)
}
