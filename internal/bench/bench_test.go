package bench

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/testenv"
)

func TestRun(t *testing.T) {
	img := filepath.Join(testenv.TestData(t, "lfw-dev"), "images", "George_Clooney", "George_Clooney_0001.jpg")
	var passes []string
	rep, err := Run(context.Background(), Config{
		Models: testenv.ModelDir(t), Engine: engines.Default, Image: img,
		Iterations: 2, Templates: []int{1000, 3000},
		Progress: func(pass string) { passes = append(passes, pass) },
	})
	if err != nil {
		t.Fatal(err)
	}
	// decode, detect, align, embed, two match stages, forward, pipeline.
	if len(rep.Stages) != 8 || rep.Faces < 1 || rep.Width <= 0 || rep.Height <= 0 || rep.Cores < 1 {
		t.Fatalf("implausible report: %+v", rep)
	}
	for _, s := range rep.Stages {
		if s.MS1 <= 0 || s.MSAll <= 0 {
			t.Errorf("stage %q has no timing: %+v", s.Stage, s)
		}
	}
	if !strings.Contains(rep.Stages[4].Stage, "1000 templates") || !strings.Contains(rep.Stages[5].Stage, "3000 templates") {
		t.Errorf("match stages not in the order of the sizes: %q, %q", rep.Stages[4].Stage, rep.Stages[5].Stage)
	}
	for i := range 2 {
		if rep.FacesPerSec[i] <= 0 || rep.Ratio[i] <= 0 || rep.MSPerFace[i] <= 0 {
			t.Errorf("derived figures missing: %+v", rep)
		}
	}
	if strings.Join(passes, ",") != "1-thread,all-cores" {
		t.Errorf("passes reported %q", passes)
	}
}

func TestRunRefusesBadInput(t *testing.T) {
	noFace := filepath.Join(t.TempDir(), "blank.png")
	writeBlankPNG(t, noFace)
	models := testenv.ModelDir(t)
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no iterations", Config{Models: models, Engine: engines.Default, Image: noFace, Templates: []int{10}}, "timed call"},
		{"no gallery", Config{Models: models, Engine: engines.Default, Image: noFace, Iterations: 1}, "gallery size"},
		{"missing photo", Config{Models: models, Engine: engines.Default, Image: noFace + ".gone", Iterations: 1, Templates: []int{10}}, "bench image"},
		{"not an OpenCV engine", Config{Models: models, Engine: engines.GoFaceDlib, Image: noFace, Iterations: 1, Templates: []int{10}}, "not an OpenCV engine"},
		{"no face", Config{Models: models, Engine: engines.Default, Image: noFace, Iterations: 1, Templates: []int{10}}, "no face found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(context.Background(), c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Run = %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}

// writeBlankPNG writes a grey picture with no face in it.
func writeBlankPNG(t *testing.T, path string) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
