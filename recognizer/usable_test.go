package recognizer

import (
	"math"
	"strings"
	"testing"
)

// frontal is a sharp frontal face, 100 px wide, 40 px between the eyes.
func frontal() Face {
	return Face{
		Box:   Rect{X: 100, Y: 100, W: 100, H: 120},
		Score: 0.92,
		Landmarks: [5]Point{
			{X: 130, Y: 150}, {X: 170, Y: 150}, {X: 150, Y: 172}, {X: 135, Y: 192}, {X: 165, Y: 192},
		},
	}
}

func TestUsablePolicyCheck(t *testing.T) {
	p := DefaultUsablePolicy
	cases := []struct {
		name   string
		face   func(f *Face)
		sharp  float32
		reason string // "" for usable
	}{
		{"frontal", func(*Face) {}, 200, ""},
		{"back of the head", func(f *Face) { f.Score = 0.45 }, 200, "detector score"},
		{"blurred", func(*Face) {}, 5, "blurred"},
		{"too small", func(f *Face) {
			for i := range f.Landmarks {
				f.Landmarks[i].X = 150 + (f.Landmarks[i].X-150)/5
			}
		}, 200, "too small"},
		{"eyes collapsed: profile", func(f *Face) { f.Box.W, f.Box.X = 400, 0 }, 200, "profile or back of the head"},
		{"landmarks not numbers", func(f *Face) { f.Landmarks[Nose].X = float32(math.NaN()) }, 200, "no usable landmarks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := frontal()
			c.face(&f)
			u := p.Check(f, c.sharp)
			if u.Usable != (c.reason == "") || !strings.Contains(u.Reason, c.reason) {
				t.Errorf("Check = %+v, want reason containing %q", u, c.reason)
			}
			if u.Usable && u.Reason != "" {
				t.Errorf("usable with reason %q", u.Reason)
			}
			if !(u.Score >= 0 && u.Score <= 1) {
				t.Errorf("score %v outside [0,1]", u.Score)
			}
		})
	}
}

// The zero Usability is unusable, so code that forgets the gate never
// treats a face as identifiable.
func TestZeroUsabilityIsUnusable(t *testing.T) {
	if (Usability{}).Usable {
		t.Fatal("zero Usability is usable")
	}
}

func TestBoxSharpness(t *testing.T) {
	const w, h = 200, 160
	flat, sharp := NewImage(w, h), NewImage(w, h)
	for i := range flat.Pix {
		flat.Pix[i] = 128
	}
	for y := range h {
		for x := range w {
			v := byte(30)
			if (x/4+y/4)%2 == 0 {
				v = 220
			}
			p := sharp.Pix[(y*w+x)*3:]
			p[0], p[1], p[2] = v, v, v
		}
	}
	box := Rect{X: 40, Y: 30, W: 100, H: 110}
	if s := BoxSharpness(flat, box, 112); s != 0 {
		t.Errorf("a flat picture: sharpness %v, want 0", s)
	}
	if s := BoxSharpness(sharp, box, 112); s < 1000 {
		t.Errorf("a fine checkerboard: sharpness %v, want a large variance", s)
	}
	// A box reaching past the picture reads its edge pixels; degenerate
	// input gives 0.
	if s := BoxSharpness(sharp, Rect{X: -50, Y: -50, W: 400, H: 400}, 112); !(s > 0) {
		t.Errorf("a box past the edges: sharpness %v", s)
	}
	for _, c := range []struct {
		img  *Image
		box  Rect
		side int
	}{{nil, box, 112}, {sharp, box, 2}, {sharp, Rect{X: 1, Y: 1, W: 1, H: 50}, 112}} {
		if s := BoxSharpness(c.img, c.box, c.side); s != 0 {
			t.Errorf("BoxSharpness(%v, %d) = %v, want 0", c.box, c.side, s)
		}
	}
}
