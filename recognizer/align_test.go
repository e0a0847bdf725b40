package recognizer

import (
	"math"
	"testing"
)

var arcface = [5]Point{{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041}}

func TestSimilarityTransformRecoversKnownTransform(t *testing.T) {
	cases := []struct {
		name                 string
		scale, angle, tx, ty float64
	}{
		{"identity", 1, 0, 0, 0},
		{"shrink and shift", 0.25, 0, 300, -40},
		{"rotate 30", 1.7, math.Pi / 6, -12, 80},
		{"upside down", 2, math.Pi, 5, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := Affine{c.scale * math.Cos(c.angle), -c.scale * math.Sin(c.angle), c.tx, c.scale * math.Sin(c.angle), c.scale * math.Cos(c.angle), c.ty}
			var src [5]Point
			for i, p := range arcface {
				src[i] = want.Apply(p)
			}
			got, err := SimilarityTransform(arcface, src)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-3*(1+math.Abs(want[i])) {
					t.Fatalf("coef %d: got %v want %v", i, got, want)
				}
			}
			inv, err := got.Invert()
			if err != nil {
				t.Fatal(err)
			}
			back := inv.Apply(got.Apply(Point{10, 20}))
			if math.Abs(float64(back.X-10)) > 1e-3 || math.Abs(float64(back.Y-20)) > 1e-3 {
				t.Fatalf("inverse does not round-trip: %v", back)
			}
		})
	}
}

func TestSimilarityTransformRejectsDegenerate(t *testing.T) {
	var same [5]Point
	for i := range same {
		same[i] = Point{3, 3}
	}
	if _, err := SimilarityTransform(same, arcface); err == nil {
		t.Fatal("want error for collapsed landmarks")
	}
	nan := arcface
	nan[2].X = float32(math.NaN())
	if _, err := AlignTransform(Face{Landmarks: nan}, Template{Size: 112, Points: arcface}); err == nil {
		t.Fatal("want error for NaN landmarks")
	}
}

func TestMirrorLandmarksSwapsSides(t *testing.T) {
	m := MirrorLandmarks(arcface, 112)
	if m[LeftEye].X >= m[RightEye].X || m[LeftMouth].X >= m[RightMouth].X {
		t.Fatalf("mirrored landmarks lost their left/right order: %v", m)
	}
	if back := MirrorLandmarks(m, 112); back != arcface {
		t.Fatalf("mirror twice = %v, want original", back)
	}
}

func TestEstimatePose(t *testing.T) {
	yaw, pitch, roll := EstimatePose(arcface)
	if math.Abs(float64(yaw)) > 8 || math.Abs(float64(pitch)) > 15 || math.Abs(float64(roll)) > 2 {
		t.Fatalf("frontal template: yaw %.1f pitch %.1f roll %.1f", yaw, pitch, roll)
	}
	turned := arcface
	turned[Nose].X += 14 // nose towards the image-right eye: a strong turn
	yaw2, _, _ := EstimatePose(turned)
	if yaw2 < 30 {
		t.Fatalf("turned face yaw %.1f, want > 30", yaw2)
	}
	var rolled [5]Point
	rot := Affine{math.Cos(0.5), -math.Sin(0.5), 0, math.Sin(0.5), math.Cos(0.5), 0}
	for i, p := range arcface {
		rolled[i] = rot.Apply(p)
	}
	_, _, roll3 := EstimatePose(rolled)
	if math.Abs(float64(roll3)-0.5*180/math.Pi) > 2 {
		t.Fatalf("roll %.1f, want about 28.6", roll3)
	}
}

func TestAssessQualityReasons(t *testing.T) {
	small := Face{Score: 0.9}
	for i, p := range arcface {
		small.Landmarks[i] = Point{p.X / 10, p.Y / 10}
	}
	q := AssessQuality(small, 100, DefaultMatchPolicy)
	if q.Usable() || q.Score > 0.2 {
		t.Fatalf("tiny face passed: %+v", q)
	}
	big := Face{Score: 0.95}
	for i, p := range arcface {
		big.Landmarks[i] = Point{p.X * 2, p.Y * 2}
	}
	if q := AssessQuality(big, 200, DefaultMatchPolicy); !q.Usable() || q.Score < 0.5 {
		t.Fatalf("good face rejected: %+v", q)
	}
	if q := AssessQuality(big, 1, DefaultMatchPolicy); q.Usable() {
		t.Fatalf("blurred face passed: %+v", q)
	}
}

func TestLaplacianVariance(t *testing.T) {
	flat := make([]byte, 32*32)
	for i := range flat {
		flat[i] = 128
	}
	if v := LaplacianVariance(flat, 32, 32); v != 0 {
		t.Fatalf("flat image variance %v", v)
	}
	check := make([]byte, 32*32)
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			if (x+y)%2 == 0 {
				check[y*32+x] = 255
			}
		}
	}
	if v := LaplacianVariance(check, 32, 32); v < 1e5 {
		t.Fatalf("checkerboard variance %v, want large", v)
	}
	if v := LaplacianVariance(check, 2, 2); v != 0 {
		t.Fatalf("too small image variance %v", v)
	}
}
