package eval

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"sync"

	"golang.org/x/image/font/gofont/goregular"
)

// This file draws text for the plots from the Go Regular TrueType font.
// golang.org/x/image/font/opentype would do it, but it pulls in
// golang.org/x/text and golang.org/x/sys, which the module does not
// require; the plots only need horizontal and vertical Latin text, which a
// small glyf/cmap reader and a scanline filler cover.

// ttFont is the part of a TrueType font needed to lay out and fill simple
// left-to-right text: advances, the Unicode cmap and glyph outlines. There
// is no kerning and no hinting; at the plot's sizes neither is missed.
type ttFont struct {
	unitsPerEm  float64
	capHeight   float64 // font units above the baseline
	numGlyphs   int
	numHMetrics int
	locaLong    bool
	hmtx, loca  []byte
	glyf, cmap4 []byte
}

var (
	goFontOnce sync.Once
	goFont     *ttFont
	goFontErr  error
)

func loadGoFont() (*ttFont, error) {
	goFontOnce.Do(func() { goFont, goFontErr = parseTTF(goregular.TTF) })
	return goFont, goFontErr
}

var errFont = errors.New("malformed TrueType data")

func u16(b []byte, off int) (int, bool) {
	if off < 0 || off+2 > len(b) {
		return 0, false
	}
	return int(binary.BigEndian.Uint16(b[off:])), true
}

func i16(b []byte, off int) (int, bool) {
	v, ok := u16(b, off)
	return int(int16(v)), ok
}

func u32(b []byte, off int) (int, bool) {
	if off < 0 || off+4 > len(b) {
		return 0, false
	}
	return int(binary.BigEndian.Uint32(b[off:])), true
}

func parseTTF(b []byte) (*ttFont, error) {
	n, ok := u16(b, 4)
	if !ok {
		return nil, errFont
	}
	tables := map[string][]byte{}
	for k := range n {
		rec := 12 + 16*k
		if rec+16 > len(b) {
			return nil, errFont
		}
		off, _ := u32(b, rec+8)
		size, _ := u32(b, rec+12)
		if off < 0 || size < 0 || off+size > len(b) {
			return nil, fmt.Errorf("%w: table %q out of range", errFont, b[rec:rec+4])
		}
		tables[string(b[rec:rec+4])] = b[off : off+size]
	}
	for _, t := range []string{"head", "hhea", "hmtx", "maxp", "loca", "glyf", "cmap"} {
		if tables[t] == nil {
			return nil, fmt.Errorf("%w: no %s table", errFont, t)
		}
	}
	f := &ttFont{hmtx: tables["hmtx"], loca: tables["loca"], glyf: tables["glyf"]}
	upem, ok1 := u16(tables["head"], 18)
	locFmt, ok2 := i16(tables["head"], 50)
	asc, ok3 := i16(tables["hhea"], 4)
	nhm, ok4 := u16(tables["hhea"], 34)
	ng, ok5 := u16(tables["maxp"], 4)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || upem == 0 || nhm == 0 {
		return nil, errFont
	}
	f.unitsPerEm, f.locaLong = float64(upem), locFmt == 1
	f.numHMetrics, f.numGlyphs = nhm, ng

	// Only a format 4 Unicode BMP subtable is needed for plot labels.
	cm := tables["cmap"]
	nsub, _ := u16(cm, 2)
	for k := range nsub {
		pid, _ := u16(cm, 4+8*k)
		eid, _ := u16(cm, 6+8*k)
		off, ok := u32(cm, 8+8*k)
		if !ok || !(pid == 0 || pid == 3 && eid == 1) {
			continue
		}
		if form, _ := u16(cm, off); form == 4 {
			length, _ := u16(cm, off+2)
			if off+length <= len(cm) {
				f.cmap4 = cm[off : off+length]
				break
			}
		}
	}
	if f.cmap4 == nil {
		return nil, fmt.Errorf("%w: no Unicode format 4 cmap", errFont)
	}
	f.capHeight = 0.7 * float64(asc)
	if _, _, _, yMax, ok := f.bounds(f.glyphIndex('H')); ok {
		f.capHeight = float64(yMax)
	}
	return f, nil
}

// glyphIndex maps a rune through the format 4 cmap; 0 (.notdef) when the
// font lacks it.
func (f *ttFont) glyphIndex(r rune) int {
	if r < 0 || r > 0xffff {
		return 0
	}
	c := int(r)
	t := f.cmap4
	segX2, _ := u16(t, 6)
	for s := 0; s < segX2; s += 2 {
		end, ok := u16(t, 14+s)
		if !ok {
			return 0
		}
		if end < c {
			continue
		}
		start, _ := u16(t, 16+segX2+s)
		if start > c {
			return 0
		}
		delta, _ := u16(t, 16+2*segX2+s)
		roPos := 16 + 3*segX2 + s
		ro, _ := u16(t, roPos)
		if ro == 0 {
			return (c + delta) & 0xffff
		}
		g, ok := u16(t, roPos+ro+2*(c-start))
		if !ok || g == 0 {
			return 0
		}
		return (g + delta) & 0xffff
	}
	return 0
}

// advance is the horizontal advance of glyph g in font units.
func (f *ttFont) advance(g int) float64 {
	k := min(g, f.numHMetrics-1)
	v, _ := u16(f.hmtx, 4*k)
	return float64(v)
}

// glyphData returns the glyf bytes of glyph g (empty for a blank glyph).
func (f *ttFont) glyphData(g int) ([]byte, bool) {
	if g < 0 || g >= f.numGlyphs {
		return nil, false
	}
	var a, b int
	var ok1, ok2 bool
	if f.locaLong {
		a, ok1 = u32(f.loca, 4*g)
		b, ok2 = u32(f.loca, 4*g+4)
	} else {
		a, ok1 = u16(f.loca, 2*g)
		b, ok2 = u16(f.loca, 2*g+2)
		a, b = 2*a, 2*b
	}
	if !ok1 || !ok2 || a > b || b > len(f.glyf) {
		return nil, false
	}
	return f.glyf[a:b], true
}

func (f *ttFont) bounds(g int) (xMin, yMin, xMax, yMax int, ok bool) {
	d, ok := f.glyphData(g)
	if !ok || len(d) < 10 {
		return 0, 0, 0, 0, false
	}
	xMin, _ = i16(d, 2)
	yMin, _ = i16(d, 4)
	xMax, _ = i16(d, 6)
	yMax, _ = i16(d, 8)
	return xMin, yMin, xMax, yMax, true
}

// ttPoint is an outline point in font units.
type ttPoint struct {
	x, y float64
	on   bool
}

// contours returns the outline of glyph g. Composite glyphs (outlines
// assembled from other glyphs) are reported as an error and the glyph is
// left blank: Go Regular has none, and the plots draw no other font.
func (f *ttFont) contours(g int) ([][]ttPoint, error) {
	d, ok := f.glyphData(g)
	if !ok {
		return nil, errFont
	}
	if len(d) == 0 {
		return nil, nil
	}
	nc, ok := i16(d, 0)
	if !ok {
		return nil, errFont
	}
	if nc < 0 {
		return nil, fmt.Errorf("glyph %d is composite, which is not supported", g)
	}
	return simpleGlyph(d, nc)
}

func simpleGlyph(d []byte, nc int) ([][]ttPoint, error) {
	ends := make([]int, nc)
	for k := range nc {
		v, ok := u16(d, 10+2*k)
		if !ok || (k > 0 && v <= ends[k-1]) {
			return nil, errFont
		}
		ends[k] = v
	}
	if nc == 0 {
		return nil, nil
	}
	np := ends[nc-1] + 1
	il, ok := u16(d, 10+2*nc)
	if !ok {
		return nil, errFont
	}
	p := 12 + 2*nc + il
	flags := make([]byte, 0, np)
	for len(flags) < np {
		if p >= len(d) {
			return nil, errFont
		}
		fl := d[p]
		p++
		flags = append(flags, fl)
		if fl&0x08 != 0 {
			if p >= len(d) {
				return nil, errFont
			}
			for range int(d[p]) {
				flags = append(flags, fl)
			}
			p++
		}
	}
	flags = flags[:np]
	coords := func(short, same byte) ([]float64, error) {
		out := make([]float64, np)
		v := 0
		for k, fl := range flags {
			switch {
			case fl&short != 0:
				if p >= len(d) {
					return nil, errFont
				}
				if fl&same != 0 {
					v += int(d[p])
				} else {
					v -= int(d[p])
				}
				p++
			case fl&same == 0:
				dv, ok := i16(d, p)
				if !ok {
					return nil, errFont
				}
				v += dv
				p += 2
			}
			out[k] = float64(v)
		}
		return out, nil
	}
	xs, err := coords(0x02, 0x10)
	if err != nil {
		return nil, err
	}
	ys, err := coords(0x04, 0x20)
	if err != nil {
		return nil, err
	}
	out := make([][]ttPoint, 0, nc)
	start := 0
	for _, end := range ends {
		ct := make([]ttPoint, 0, end-start+1)
		for k := start; k <= end; k++ {
			ct = append(ct, ttPoint{xs[k], ys[k], flags[k]&0x01 != 0})
		}
		out = append(out, ct)
		start = end + 1
	}
	return out, nil
}

// textFace is the font at one pixel size.
type textFace struct {
	f    *ttFont
	size float64 // pixels per em
}

func newTextFace(size float64) (textFace, error) {
	f, err := loadGoFont()
	if err != nil {
		return textFace{}, err
	}
	return textFace{f, size}, nil
}

func (t textFace) scale() float64 { return t.size / t.f.unitsPerEm }

// width is the advance width of s in pixels.
func (t textFace) width(s string) float64 {
	w := 0.0
	for _, r := range s {
		w += t.f.advance(t.f.glyphIndex(r))
	}
	return w * t.scale()
}

func (t textFace) capHeight() float64 { return t.f.capHeight * t.scale() }

// draw fills s in colour c. The pen starts at (x, y) on the baseline; with
// up set the text runs bottom to top (rotated a quarter turn
// anticlockwise), as on a y axis.
func (t textFace) draw(img *image.RGBA, s string, x, y float64, up bool, c color.RGBA) {
	sc := t.scale()
	pen := 0.0
	for _, r := range s {
		g := t.f.glyphIndex(r)
		cs, err := t.f.contours(g)
		if err == nil && len(cs) > 0 {
			ox := pen
			tr := func(p ttPoint) (float64, float64) {
				gx, gy := (ox+p.x)*sc, p.y*sc
				if up {
					// Advance runs up the image and glyph height
					// points left.
					return x - gy, y - gx
				}
				return x + gx, y - gy
			}
			fillPath(img, flatten(cs, tr), c)
		}
		pen += t.f.advance(g)
	}
}

type segment struct{ x0, y0, x1, y1 float64 }

// flatten turns quadratic TrueType contours into line segments in pixel
// space. Two consecutive off-curve points imply an on-curve point midway.
func flatten(cs [][]ttPoint, tr func(ttPoint) (float64, float64)) []segment {
	var segs []segment
	for _, ct := range cs {
		n := len(ct)
		if n < 2 {
			continue
		}
		// Start on an on-curve point, synthesising one if none exists.
		first := slices.IndexFunc(ct, func(p ttPoint) bool { return p.on })
		var start ttPoint
		if first < 0 {
			start = ttPoint{(ct[0].x + ct[n-1].x) / 2, (ct[0].y + ct[n-1].y) / 2, true}
			first = 0
		} else {
			start = ct[first]
			first++
		}
		cx, cy := tr(start)
		var ctrl *ttPoint
		emit := func(p ttPoint) {
			px, py := tr(p)
			if ctrl == nil {
				segs = append(segs, segment{cx, cy, px, py})
			} else {
				qx, qy := tr(*ctrl)
				dev := math.Hypot(cx-2*qx+px, cy-2*qy+py)
				steps := 1 + int(math.Sqrt(dev*2))
				steps = min(steps, 32)
				lx, ly := cx, cy
				for k := 1; k <= steps; k++ {
					u := float64(k) / float64(steps)
					a, b, c := (1-u)*(1-u), 2*u*(1-u), u*u
					nx, ny := a*cx+b*qx+c*px, a*cy+b*qy+c*py
					segs = append(segs, segment{lx, ly, nx, ny})
					lx, ly = nx, ny
				}
			}
			cx, cy, ctrl = px, py, nil
		}
		for k := 0; k < n; k++ {
			p := ct[(first+k)%n]
			if p.on {
				emit(p)
				continue
			}
			if ctrl != nil {
				mid := ttPoint{(ctrl.x + p.x) / 2, (ctrl.y + p.y) / 2, true}
				emit(mid)
			}
			q := p
			ctrl = &q
		}
		emit(start)
	}
	return segs
}

// fillPath fills the non-zero winding interior of segs with anti-aliasing:
// each pixel row is sampled on several sub-rows and, along each sub-row,
// spans are covered exactly.
func fillPath(img *image.RGBA, segs []segment, c color.RGBA) {
	if len(segs) == 0 {
		return
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, s := range segs {
		minX, maxX = min(minX, s.x0, s.x1), max(maxX, s.x0, s.x1)
		minY, maxY = min(minY, s.y0, s.y1), max(maxY, s.y0, s.y1)
	}
	box := image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX))+1, int(math.Ceil(maxY))+1).
		Intersect(img.Bounds())
	if box.Empty() {
		return
	}
	const sub = 8
	row := make([]float64, box.Dx())
	type crossing struct {
		x   float64
		dir int
	}
	var xs []crossing
	for y := box.Min.Y; y < box.Max.Y; y++ {
		clear(row)
		for k := range sub {
			sy := float64(y) + (float64(k)+0.5)/sub
			xs = xs[:0]
			for _, s := range segs {
				if s.y0 == s.y1 {
					continue
				}
				lo, hi, dir := s.y0, s.y1, 1
				if lo > hi {
					lo, hi, dir = hi, lo, -1
				}
				if sy < lo || sy >= hi {
					continue
				}
				xs = append(xs, crossing{s.x0 + (sy-s.y0)*(s.x1-s.x0)/(s.y1-s.y0), dir})
			}
			slices.SortFunc(xs, func(a, b crossing) int {
				switch {
				case a.x < b.x:
					return -1
				case a.x > b.x:
					return 1
				}
				return 0
			})
			wind := 0
			for j := 0; j+1 < len(xs); j++ {
				wind += xs[j].dir
				if wind != 0 {
					coverSpan(row, float64(box.Min.X), xs[j].x, xs[j+1].x, 1.0/sub)
				}
			}
		}
		for i, a := range row {
			if a > 0 {
				blend(img, box.Min.X+i, y, c, min(a, 1))
			}
		}
	}
}

// coverSpan adds weight times the overlap of [xa, xb] with each pixel.
func coverSpan(row []float64, x0, xa, xb, weight float64) {
	xa, xb = xa-x0, xb-x0
	xa, xb = max(xa, 0), min(xb, float64(len(row)))
	for i := int(math.Floor(xa)); float64(i) < xb && i < len(row); i++ {
		if i < 0 {
			continue
		}
		lo, hi := max(xa, float64(i)), min(xb, float64(i+1))
		if hi > lo {
			row[i] += (hi - lo) * weight
		}
	}
}
