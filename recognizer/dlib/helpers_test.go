package dlib

import (
	"encoding/json"
	"image"
	"image/color"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
)

// Test data lives outside the repository (model licences, photo rights).
// Missing data fails the tests rather than skipping them, so a broken setup
// cannot pass as green.
const (
	modelsEnv   = "DOZOR_MODELS"
	testdataEnv = "DOZOR_TESTDATA"
)

func sharedDir(t testing.TB, env, rel, probe string) string {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", rel)
	}
	if _, err := os.Stat(filepath.Join(dir, probe)); err != nil {
		t.Fatalf("test data not found: %v; set %s to the shared %s directory", err, env, rel)
	}
	return dir
}

func modelsDir(t testing.TB) string {
	return sharedDir(t, modelsEnv, "models", filepath.Join("go-face", resnetName))
}

func testdata(t testing.TB, rel string) string {
	return filepath.Join(sharedDir(t, testdataEnv, "testdata", "faces"), rel)
}

// The 68-point model is not in the shared models (licence), so the tests
// need Debian's libdlib-data just as a deployment would.
func requireShape68(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(DefaultShapePredictor68); err != nil {
		t.Fatalf("%v: the gofacedlib tests need `apt install libdlib-data`", err)
	}
}

func newEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	requireShape68(t)
	if opts.ModelsDir == "" {
		opts.ModelsDir = modelsDir(t)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// sharedEngine is loaded once: loading hashes ~120 MB and deserializes the
// models, which would dominate a test run if every test paid for it.
var (
	sharedOnce sync.Once
	sharedEng  *Engine
	sharedErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedEng != nil {
		sharedEng.Close()
	}
	os.Exit(code)
}

func engine(t testing.TB) *Engine {
	t.Helper()
	requireShape68(t)
	dir := modelsDir(t)
	sharedOnce.Do(func() { sharedEng, sharedErr = New(Options{ModelsDir: dir}) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedEng
}

// loadImage decodes a JPEG or PNG file into a BGR recognizer.Image.
func loadImage(t testing.TB, path string) *recognizer.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return toBGR(m)
}

func toBGR(m image.Image) *recognizer.Image {
	b := m.Bounds()
	out := recognizer.NewImage(b.Dx(), b.Dy())
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(m.At(x, y)).(color.RGBA)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = c.B, c.G, c.R
			i += 3
		}
	}
	return out
}

// resize scales a BGR image by area averaging (test-only, for making
// smaller inputs from the photos).
func resize(src *recognizer.Image, w, h int) *recognizer.Image {
	var e encoder
	rgba := e.rgbaOf(w, h)
	areaResample(src, 0, 0, float64(src.W)/float64(w), float64(src.H)/float64(h), rgba)
	out := recognizer.NewImage(w, h)
	for i, j := 0, 0; i < len(out.Pix); i, j = i+3, j+4 {
		out.Pix[i], out.Pix[i+1], out.Pix[i+2] = rgba.Pix[j+2], rgba.Pix[j+1], rgba.Pix[j]
	}
	return out
}

func readDescriptor(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v []float32
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(v) != Dim {
		t.Fatalf("%s: %d values, want %d", path, len(v), Dim)
	}
	return v
}
