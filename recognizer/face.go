package recognizer

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Point is a position in image pixels.
type Point struct{ X, Y float32 }

// Rect is an axis-aligned box in image pixels (top-left corner and size).
type Rect struct{ X, Y, W, H float32 }

// Area returns the box area in square pixels.
func (r Rect) Area() float32 { return r.W * r.H }

// Center returns the middle of the box.
func (r Rect) Center() Point { return Point{r.X + r.W/2, r.Y + r.H/2} }

// IoU is the intersection over union of two boxes.
func (r Rect) IoU(o Rect) float32 {
	x0 := max(r.X, o.X)
	y0 := max(r.Y, o.Y)
	x1 := min(r.X+r.W, o.X+o.W)
	y1 := min(r.Y+r.H, o.Y+o.H)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	inter := (x1 - x0) * (y1 - y0)
	return inter / (r.Area() + o.Area() - inter)
}

// Landmark indices in the order YuNet emits them: the eye on the left of the
// image (the subject's right eye) first, then the right eye, nose tip and the
// two mouth corners, left of the image first.
const (
	LeftEye = iota
	RightEye
	Nose
	LeftMouth
	RightMouth
)

// Face is one detected face.
type Face struct {
	Box       Rect
	Landmarks [5]Point
	// Score is the detector confidence in [0,1].
	Score float32
	// Quality is filled by AssessQuality; zero until then.
	Quality Quality
}

// InterOcular is the distance between the eye centres in pixels: the face
// size measure that identification accuracy depends on.
func (f Face) InterOcular() float32 {
	dx := f.Landmarks[RightEye].X - f.Landmarks[LeftEye].X
	dy := f.Landmarks[RightEye].Y - f.Landmarks[LeftEye].Y
	return float32(math.Hypot(float64(dx), float64(dy)))
}

// ModelID names the model (and pipeline variant) that produced an
// embedding. Embeddings with different ids live in different vector spaces
// and are never compared.
type ModelID string

// Embedding is an L2-normalised face descriptor. Similarity between two
// embeddings of the same model is their dot product (cosine similarity).
type Embedding struct {
	Model ModelID
	Vec   []float32
}

// ErrModelMismatch is returned when two embeddings of different models meet.
type ErrModelMismatch struct{ A, B ModelID }

func (e ErrModelMismatch) Error() string {
	return fmt.Sprintf("embeddings from different models cannot be compared: %q vs %q", e.A, e.B)
}

// Similarity returns the cosine similarity of two embeddings of one model.
func Similarity(a, b Embedding) (float32, error) {
	if a.Model != b.Model {
		return 0, ErrModelMismatch{a.Model, b.Model}
	}
	if len(a.Vec) != len(b.Vec) {
		return 0, fmt.Errorf("embedding length mismatch: %d vs %d", len(a.Vec), len(b.Vec))
	}
	return Dot(a.Vec, b.Vec), nil
}

// Dot is the plain dot product of two equal-length vectors.
func Dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a)
	b = b[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// Normalize scales v to unit L2 norm in place and returns its former norm.
// A zero vector is left as it is.
func Normalize(v []float32) float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	n := math.Sqrt(s)
	if n == 0 {
		return 0
	}
	inv := float32(1 / n)
	for i := range v {
		v[i] *= inv
	}
	return float32(n)
}

// RandomUnit draws a uniformly random direction of dimension dim from r:
// a synthetic embedding for benchmarks and tests, where what a vector
// means does not matter, only that it is one.
func RandomUnit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	Normalize(v)
	return v
}
