package dlib

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"

	"github.com/dozor-edge/dozor/recognizer"
)

// jpegQuality is high because go-face only accepts JPEG: the encoding is a
// transport step, and its artefacts should not move landmarks or
// descriptors noticeably.
const jpegQuality = 95

// maxJPEGSide is the largest width or height a baseline JPEG can record.
const maxJPEGSide = 65535

// encoder turns BGR pixels into JPEG bytes, keeping its buffers between
// calls so a steady frame size does not allocate per frame.
type encoder struct {
	rgba image.RGBA
	out  bytes.Buffer
}

// rgbaOf returns the encoder's RGBA buffer resized to w x h. Alpha is set
// to opaque when the buffer is allocated and never written again, so
// callers write only RGB.
func (e *encoder) rgbaOf(w, h int) *image.RGBA {
	n := w * h * 4
	if cap(e.rgba.Pix) < n {
		e.rgba.Pix = make([]byte, n)
		for i := 3; i < n; i += 4 {
			e.rgba.Pix[i] = 0xff
		}
	}
	e.rgba.Pix = e.rgba.Pix[:n]
	e.rgba.Stride = w * 4
	e.rgba.Rect = image.Rect(0, 0, w, h)
	return &e.rgba
}

// whole encodes the full image.
func (e *encoder) whole(img *recognizer.Image) ([]byte, error) {
	dst := e.rgbaOf(img.W, img.H)
	src := img.Pix
	d := dst.Pix
	for i, j := 0, 0; i < len(src); i, j = i+3, j+4 {
		d[j], d[j+1], d[j+2] = src[i+2], src[i+1], src[i]
	}
	return e.encode(dst)
}

// crop encodes the source rectangle [x0,x1) x [y0,y1) of img resampled to
// w x h. Shrinking averages every source pixel under a destination pixel,
// so a large face does not alias into the small crop; enlarging is bilinear.
func (e *encoder) crop(img *recognizer.Image, x0, y0, x1, y1, w, h int) ([]byte, error) {
	dst := e.rgbaOf(w, h)
	sw, sh := x1-x0, y1-y0
	if w == sw && h == sh {
		for y := 0; y < h; y++ {
			s := img.Pix[((y0+y)*img.W+x0)*3:]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				d[x*4], d[x*4+1], d[x*4+2] = s[x*3+2], s[x*3+1], s[x*3]
			}
		}
		return e.encode(dst)
	}
	fx := float64(sw) / float64(w)
	fy := float64(sh) / float64(h)
	if fx >= 1 && fy >= 1 {
		areaResample(img, x0, y0, fx, fy, dst)
	} else {
		bilinearResample(img, x0, y0, x1, y1, fx, fy, dst)
	}
	return e.encode(dst)
}

func (e *encoder) encode(m *image.RGBA) ([]byte, error) {
	e.out.Reset()
	if err := jpeg.Encode(&e.out, m, &jpeg.Options{Quality: jpegQuality}); err != nil {
		return nil, err
	}
	return e.out.Bytes(), nil
}

// areaResample shrinks by averaging, per destination pixel, the whole
// source pixels its footprint touches (a box filter; exact for integer
// factors and close enough otherwise for detection and alignment).
func areaResample(img *recognizer.Image, x0, y0 int, fx, fy float64, dst *image.RGBA) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	for y := 0; y < h; y++ {
		sy0, sy1 := areaSpan(y, y0, fy, img.H)
		d := dst.Pix[y*dst.Stride:]
		for x := 0; x < w; x++ {
			sx0, sx1 := areaSpan(x, x0, fx, img.W)
			var b, g, r, n int
			for sy := sy0; sy < sy1; sy++ {
				s := img.Pix[(sy*img.W+sx0)*3 : (sy*img.W+sx1)*3]
				for i := 0; i < len(s); i += 3 {
					b += int(s[i])
					g += int(s[i+1])
					r += int(s[i+2])
				}
				n += sx1 - sx0
			}
			d[x*4] = uint8((r + n/2) / n)
			d[x*4+1] = uint8((g + n/2) / n)
			d[x*4+2] = uint8((b + n/2) / n)
		}
	}
}

// areaSpan is the source pixels [lo, hi) that destination pixel i covers
// along one axis, for a scale factor f and a source rectangle starting at
// off; hi stops at limit and lo < hi.
func areaSpan(i, off int, f float64, limit int) (lo, hi int) {
	lo = off + int(float64(i)*f)
	hi = off + int(math.Ceil(float64(i+1)*f))
	return lo, min(max(hi, lo+1), limit)
}

// bilinearResample enlarges with pixel-centre alignment, reading only
// inside the source rectangle.
func bilinearResample(img *recognizer.Image, x0, y0, x1, y1 int, fx, fy float64, dst *image.RGBA) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	for y := 0; y < h; y++ {
		iy, iy1, ty := bilinearTaps(y, fy, y1-y0)
		r0 := img.Pix[(y0+iy)*img.W*3:]
		r1 := img.Pix[(y0+iy1)*img.W*3:]
		d := dst.Pix[y*dst.Stride:]
		for x := 0; x < w; x++ {
			ix, ix1, tx := bilinearTaps(x, fx, x1-x0)
			a, b := (x0+ix)*3, (x0+ix1)*3
			for c := 0; c < 3; c++ {
				top := float64(r0[a+c])*(1-tx) + float64(r0[b+c])*tx
				bot := float64(r1[a+c])*(1-tx) + float64(r1[b+c])*tx
				d[x*4+2-c] = uint8(top*(1-ty) + bot*ty + 0.5)
			}
		}
	}
}

// bilinearTaps is, along one axis of n source pixels, the two pixels that
// destination pixel i lies between (centres aligned, clamped to the edge)
// and the weight t of the second.
func bilinearTaps(i int, f float64, n int) (i0, i1 int, t float64) {
	s := min(max((float64(i)+0.5)*f-0.5, 0), float64(n-1))
	i0 = int(s)
	return i0, min(i0+1, n-1), s - float64(i0)
}
