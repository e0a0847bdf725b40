package opencv

import (
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"

	"github.com/dozor-edge/dozor/recognizer"
)

// warpChip cuts the aligned face chip (t.Size square) out of img. When the
// warp shrinks the face a lot, the region is first reduced with area
// averaging: warpAffine's bilinear sampling alone would alias a 400 px face
// down to 112 px and the embedding would suffer.
func warpChip(img gocv.Mat, m recognizer.Affine, size int) (gocv.Mat, error) {
	inv, err := m.Invert()
	if err != nil {
		return gocv.Mat{}, err
	}
	// The chip's corners in image pixels bound the region worth touching.
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range []recognizer.Point{{X: 0, Y: 0}, {X: float32(size), Y: 0}, {X: 0, Y: float32(size)}, {X: float32(size), Y: float32(size)}} {
		p := inv.Apply(c)
		x0, y0 = math.Min(x0, float64(p.X)), math.Min(y0, float64(p.Y))
		x1, y1 = math.Max(x1, float64(p.X)), math.Max(y1, float64(p.Y))
	}
	rx0, ry0 := clampInt(int(math.Floor(x0))-2, 0, img.Cols()), clampInt(int(math.Floor(y0))-2, 0, img.Rows())
	rx1, ry1 := clampInt(int(math.Ceil(x1))+2, 0, img.Cols()), clampInt(int(math.Ceil(y1))+2, 0, img.Rows())
	dst := gocv.NewMat()
	if rx1-rx0 < 2 || ry1-ry0 < 2 {
		// The face lies outside the image: a black chip, which the
		// quality gate rejects, rather than an OpenCV error.
		dst.Close()
		return gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), size, size, gocv.MatTypeCV8UC3), nil
	}
	roi := img.Region(image.Rect(rx0, ry0, rx1, ry1))
	defer roi.Close()
	src := roi
	s := m.Scale()
	r := 1.0
	if s < 0.5 {
		r = s * 1.25
		sw, sh := max(2, int(math.Round(float64(rx1-rx0)*r))), max(2, int(math.Round(float64(ry1-ry0)*r)))
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(roi, &small, image.Pt(sw, sh), 0, 0, gocv.InterpolationArea)
		src = small
		r = float64(sw) / float64(rx1-rx0)
	}
	// Image point p = roi origin + q/r, so chip = A*p + t = (A/r)*q + (A*origin + t).
	ox, oy := float64(rx0), float64(ry0)
	adj := [6]float64{m[0] / r, m[1] / r, m[0]*ox + m[1]*oy + m[2], m[3] / r, m[4] / r, m[3]*ox + m[4]*oy + m[5]}
	am := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer am.Close()
	for i, v := range adj {
		am.SetDoubleAt(i/3, i%3, v)
	}
	gocv.WarpAffineWithParams(src, &dst, am, image.Pt(size, size), gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
	return dst, nil
}

// chipSharpness is the Laplacian variance of a chip's grey version.
func chipSharpness(chip gocv.Mat) float32 {
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(chip, &gray, gocv.ColorBGRToGray)
	b := gray.ToBytes()
	return recognizer.LaplacianVariance(b, gray.Cols(), gray.Rows())
}

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

// chipSource is where an engine cuts face chips from: the Mat the faces
// were detected in, or, when the image carries a full-resolution picture,
// that picture.
type chipSource struct {
	det    gocv.Mat
	full   *recognizer.Image
	sx, sy float32
	// templates are every chip layout the engine cuts; the region copied
	// from the full picture covers all of them.
	templates []recognizer.Template
}

func newChipSource(det gocv.Mat, img *recognizer.Image, templates []recognizer.Template) chipSource {
	s := chipSource{det: det, sx: 1, sy: 1, templates: templates}
	if img.Full != nil {
		s.full = img.Full
		s.sx, s.sy = img.FullScale()
	}
	return s
}

// faceCut is one face ready for alignment: the Mat holding it and the face
// in that Mat's pixels.
type faceCut struct {
	m     gocv.Mat
	face  recognizer.Face
	owned bool
}

func (c faceCut) Close() {
	if c.owned {
		c.m.Close()
	}
}

// cut returns the Mat to align face f from. From the full picture only the
// region every template's chip covers is copied into OpenCV, so a frame
// costs as many small copies as it has faces, not a 6 MB one.
func (s chipSource) cut(f recognizer.Face) (faceCut, error) {
	if s.full == nil {
		return faceCut{m: s.det, face: f}, nil
	}
	ff := recognizer.ScaleFace(f, s.sx, s.sy)
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, t := range s.templates {
		a, err := recognizer.AlignTransform(ff, t)
		if err != nil {
			return faceCut{}, err
		}
		inv, err := a.Invert()
		if err != nil {
			return faceCut{}, err
		}
		n := float32(t.Size)
		for _, c := range []recognizer.Point{{X: 0, Y: 0}, {X: n, Y: 0}, {X: 0, Y: n}, {X: n, Y: n}} {
			p := inv.Apply(c)
			x0, y0 = math.Min(x0, float64(p.X)), math.Min(y0, float64(p.Y))
			x1, y1 = math.Max(x1, float64(p.X)), math.Max(y1, float64(p.Y))
		}
	}
	// The margin keeps warpChip's own region (two pixels wider) and its
	// bilinear taps inside the copy.
	w, h := s.full.W, s.full.H
	rx0, ry0 := clampInt(int(math.Floor(x0))-4, 0, w), clampInt(int(math.Floor(y0))-4, 0, h)
	rx1, ry1 := clampInt(int(math.Ceil(x1))+4, 0, w), clampInt(int(math.Ceil(y1))+4, 0, h)
	if rx1-rx0 < 2 || ry1-ry0 < 2 {
		// Outside the picture: the detection Mat gives the same black
		// chip warpChip makes for such faces.
		return faceCut{m: s.det, face: f}, nil
	}
	m := gocv.NewMatWithSize(ry1-ry0, rx1-rx0, gocv.MatTypeCV8UC3)
	p, err := m.DataPtrUint8()
	if err != nil {
		m.Close()
		return faceCut{}, err
	}
	row := (rx1 - rx0) * 3
	for y := ry0; y < ry1; y++ {
		o := (y*w + rx0) * 3
		copy(p[(y-ry0)*row:(y-ry0+1)*row], s.full.Pix[o:o+row])
	}
	for i := range ff.Landmarks {
		ff.Landmarks[i].X -= float32(rx0)
		ff.Landmarks[i].Y -= float32(ry0)
	}
	ff.Box.X -= float32(rx0)
	ff.Box.Y -= float32(ry0)
	return faceCut{m: m, face: ff, owned: true}, nil
}
