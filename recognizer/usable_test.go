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
