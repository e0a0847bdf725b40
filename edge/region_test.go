package edge

import (
	"testing"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
)

func TestInRegion(t *testing.T) {
	// The left half of the picture, drawn as a concave L to catch a
	// bounding-box shortcut.
	ell := []store.Point{{X: 0, Y: 0}, {X: 0.5, Y: 0}, {X: 0.5, Y: 1}, {X: 0, Y: 1}, {X: 0, Y: 0.6}, {X: 0.2, Y: 0.6}, {X: 0.2, Y: 0.4}, {X: 0, Y: 0.4}}
	face := func(cx, cy float32) recognizer.Rect { return recognizer.Rect{X: cx - 10, Y: cy - 10, W: 20, H: 20} }
	for _, c := range []struct {
		name   string
		poly   []store.Point
		cx, cy float32
		want   bool
	}{
		{"no region: everywhere", nil, 600, 300, true},
		{"two points are no region", ell[:2], 600, 300, true},
		{"inside", ell, 300, 100, true},
		{"right half", ell, 500, 100, false},
		{"in the notch", ell, 40, 180, false},
		{"below the notch", ell, 40, 300, true},
	} {
		if got := inRegion(c.poly, face(c.cx, c.cy), 640, 360); got != c.want {
			t.Errorf("%s: centre (%v,%v) inside = %v, want %v", c.name, c.cx, c.cy, got, c.want)
		}
	}
}
