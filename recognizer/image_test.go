package recognizer

import "testing"

func TestImageValidateFull(t *testing.T) {
	small := func() *Image { return NewImage(4, 2) }
	for _, tc := range []struct {
		name string
		full *Image
		ok   bool
	}{
		{"none", nil, true},
		{"three times", NewImage(12, 6), true},
		{"same size", NewImage(4, 2), true},
		{"smaller", NewImage(2, 1), false},
		{"short buffer", &Image{W: 12, H: 6, Pix: make([]byte, 10)}, false},
		{"nested", &Image{W: 12, H: 6, Pix: make([]byte, 12*6*3), Full: NewImage(24, 12)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im := small()
			im.Full = tc.full
			if err := im.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestScaleFace(t *testing.T) {
	im := &Image{W: 640, H: 360, Full: &Image{W: 1920, H: 1080}}
	sx, sy := im.FullScale()
	if sx != 3 || sy != 3 {
		t.Fatalf("FullScale %v, %v; want 3, 3", sx, sy)
	}
	f := Face{Box: Rect{X: 10, Y: 20, W: 30, H: 40}, Score: 0.9}
	f.Landmarks[LeftEye], f.Landmarks[RightEye] = Point{X: 15, Y: 30}, Point{X: 25, Y: 30}
	g := ScaleFace(f, sx, sy)
	if g.Box != (Rect{X: 30, Y: 60, W: 90, H: 120}) || g.Score != f.Score {
		t.Fatalf("scaled box %+v score %v", g.Box, g.Score)
	}
	if g.InterOcular() != 3*f.InterOcular() {
		t.Fatalf("inter-ocular %v, want %v", g.InterOcular(), 3*f.InterOcular())
	}
	if sx, sy := (&Image{W: 4, H: 4}).FullScale(); sx != 1 || sy != 1 {
		t.Fatalf("FullScale without a full picture: %v, %v", sx, sy)
	}
}
