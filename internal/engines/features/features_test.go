package features

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/dlib"
	"github.com/dozor-edge/dozor/recognizer/eval"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

func clooney(t *testing.T) string {
	return filepath.Join(testenv.TestData(t, "lfw-dev"), "images", "George_Clooney", "George_Clooney_0001.jpg")
}

// Scoring a variant from cached features must give what the live engine
// of the same configuration embeds, or the evaluation measures something
// the daemon never runs.
func TestVariantsMatchTheLiveEngine(t *testing.T) {
	dir := testenv.ModelDir(t)
	x, err := newOpenCVExtractor(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	path := clooney(t)
	f := x.Extract(path)
	if f.NoFace || f.Err != "" || len(f.Vecs) != 2 {
		t.Fatalf("features %+v", f)
	}
	for _, c := range []struct {
		engine  string
		flip    bool
		weights []float64
	}{
		{engines.Fused, true, nil},
		{engines.Fused, false, nil},
		{engines.Fused, true, []float64{1, 0.5}},
		{engines.FacePlugin, true, nil},
		{engines.DlibONNX, false, nil},
	} {
		v, err := NewVariant(c.engine, c.flip, c.weights)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(string(v.Model()), func(t *testing.T) {
			cfg, err := engines.OpenCVConfig(dir, c.engine, stillDetector())
			if err != nil {
				t.Fatal(err)
			}
			cfg.Flip, cfg.Weights = c.flip, c.weights
			e, err := opencv.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			img, faces, err := engines.DetectFile(e, path)
			if err != nil {
				t.Fatal(err)
			}
			i := eval.MainFace(faces, img.W, img.H)
			if i < 0 || faces[i].Box != f.Face.Box {
				t.Fatalf("live engine picked face %d of %v, extractor %v", i, faces, f.Face.Box)
			}
			live, err := e.Embed(img, faces[i:i+1])
			if err != nil {
				t.Fatal(err)
			}
			if v.Model() != e.Model() {
				t.Errorf("variant model %s, engine model %s", v.Model(), e.Model())
			}
			got := v.Embed(f)
			if len(got) != len(live[0].Vec) || recognizer.Dot(got, live[0].Vec) < 0.9999 {
				t.Errorf("variant embedding (dim %d) differs from the engine's (dim %d): cosine %v", len(got), len(live[0].Vec), recognizer.Dot(got, live[0].Vec))
			}
		})
	}
}

func TestDlibExtractor(t *testing.T) {
	x, err := newDlibExtractor(testenv.ModelDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	f := x.Extract(clooney(t))
	v, err := NewVariant(engines.GoFaceDlib, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Embed(f)
	if f.NoFace || len(e) != 128 || math.Abs(float64(recognizer.Dot(e, e))-1) > 1e-4 {
		t.Fatalf("features %+v, embedding of dim %d", f, len(e))
	}
	if v.Flip || v.Model() != dlib.ModelID {
		t.Errorf("variant %+v, model %s", v, v.Model())
	}
}

// A file that is not an image is recorded as such, never fatal: one bad
// photo must not end hours of extraction.
func TestExtractBadFiles(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "broken.jpg")
	if err := os.WriteFile(bad, []byte("\xff\xd8\xff\xe0 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := newOpenCVExtractor(testenv.ModelDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for _, p := range []string{bad, filepath.Join(t.TempDir(), "missing.jpg")} {
		if f := x.Extract(p); !f.NoFace || f.Err == "" {
			t.Errorf("%s: features %+v, want no face and an error", p, f)
		}
	}
}

func TestNewVariant(t *testing.T) {
	v, err := NewVariant("default", true, nil)
	if err != nil || v.Engine != engines.Default || !v.Flip {
		t.Errorf("default: %+v, %v", v, err)
	}
	for _, c := range []struct {
		engine  string
		weights []float64
		want    string
	}{
		{"magic", nil, `unknown engine "magic" (have default, fused, faceplugin, dlibonnx, gofacedlib)`},
		{engines.Fused, []float64{1, 2, 3}, "want two numbers (faceplugin,dlibonnx), got 3"},
	} {
		if _, err := NewVariant(c.engine, true, c.weights); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: err %v, want %q", c.engine, c.weights, err, c.want)
		}
	}
}

func TestKey(t *testing.T) {
	keys := map[string]string{}
	for _, n := range engines.Names {
		k, err := Key(n)
		if err != nil {
			t.Fatal(err)
		}
		keys[n] = k
	}
	if keys[engines.Fused] != keys[engines.FacePlugin] || keys[engines.Fused] != keys[engines.DlibONNX] {
		t.Errorf("OpenCV engines do not share one extraction: %v", keys)
	}
	if keys[engines.Fused] == keys[engines.GoFaceDlib] || !strings.HasPrefix(keys[engines.GoFaceDlib], "gofacedlib/"+version+"/") {
		t.Errorf("keys %v", keys)
	}
}
