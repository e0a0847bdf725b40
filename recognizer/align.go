package recognizer

import (
	"fmt"
	"math"
)

// Affine is a 2x3 matrix mapping source pixels to destination pixels:
// x' = A[0]*x + A[1]*y + A[2], y' = A[3]*x + A[4]*y + A[5].
type Affine [6]float64

// Apply maps one point.
func (m Affine) Apply(p Point) Point {
	x, y := float64(p.X), float64(p.Y)
	return Point{float32(m[0]*x + m[1]*y + m[2]), float32(m[3]*x + m[4]*y + m[5])}
}

// Scale is the uniform scale factor of a similarity transform.
func (m Affine) Scale() float64 { return math.Hypot(m[0], m[3]) }

// Invert returns the inverse transform.
func (m Affine) Invert() (Affine, error) {
	det := m[0]*m[4] - m[1]*m[3]
	if math.Abs(det) < 1e-12 {
		return Affine{}, fmt.Errorf("affine transform is singular")
	}
	a, b, c, d := m[4]/det, -m[1]/det, -m[3]/det, m[0]/det
	return Affine{a, b, -(a*m[2] + b*m[5]), c, d, -(c*m[2] + d*m[5])}, nil
}

// Template is where an embedder expects the five landmarks on its aligned
// face chip, in chip pixels, in the landmark order of Face.
type Template struct {
	Size   int // the chip is Size x Size pixels
	Points [5]Point
}

// SimilarityTransform fits scale, rotation and translation (no shear, no
// reflection) mapping src onto dst in the least-squares sense. With points
// centred, the optimum has a closed form, so no iterative solver is needed.
func SimilarityTransform(src, dst [5]Point) (Affine, error) {
	var sx, sy, dx, dy float64
	for i := range src {
		sx += float64(src[i].X)
		sy += float64(src[i].Y)
		dx += float64(dst[i].X)
		dy += float64(dst[i].Y)
	}
	n := float64(len(src))
	sx, sy, dx, dy = sx/n, sy/n, dx/n, dy/n
	var num1, num2, den float64
	for i := range src {
		x, y := float64(src[i].X)-sx, float64(src[i].Y)-sy
		u, v := float64(dst[i].X)-dx, float64(dst[i].Y)-dy
		num1 += x*u + y*v
		num2 += x*v - y*u
		den += x*x + y*y
	}
	if den < 1e-6 {
		return Affine{}, fmt.Errorf("landmarks collapse to one point")
	}
	a, b := num1/den, num2/den
	return Affine{a, -b, dx - a*sx + b*sy, b, a, dy - b*sx - a*sy}, nil
}

// AlignTransform returns the transform from image pixels to the template's
// chip for one face.
func AlignTransform(f Face, t Template) (Affine, error) {
	for _, p := range f.Landmarks {
		if math.IsNaN(float64(p.X)) || math.IsNaN(float64(p.Y)) || math.IsInf(float64(p.X), 0) || math.IsInf(float64(p.Y), 0) {
			return Affine{}, fmt.Errorf("face landmarks are not finite")
		}
	}
	return SimilarityTransform(f.Landmarks, t.Points)
}

// MirrorLandmarks returns the landmarks of the face in an image flipped
// horizontally (width w): positions mirror and left/right labels swap.
func MirrorLandmarks(lm [5]Point, w int) [5]Point {
	m := func(p Point) Point { return Point{float32(w-1) - p.X, p.Y} }
	return [5]Point{m(lm[RightEye]), m(lm[LeftEye]), m(lm[Nose]), m(lm[RightMouth]), m(lm[LeftMouth])}
}
