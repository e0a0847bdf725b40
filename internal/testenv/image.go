package testenv

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// ArtifactDir returns the folder where tests keep pictures for people to
// look at (plots, screenshots): $DOZOR_ARTIFACTS, else var/artifacts of
// the repository. It is created if missing.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("DOZOR_ARTIFACTS")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "var", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ReadPNG reads and decodes a PNG file, failing t when it cannot.
func ReadPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s does not decode: %v", path, err)
	}
	return img
}

// DecodePNG reads a PNG file back and fails t unless it decodes to a
// picture of w x h pixels.
func DecodePNG(t testing.TB, path string, w, h int) image.Image {
	t.Helper()
	img := ReadPNG(t, path)
	if got := img.Bounds(); got.Dx() != w || got.Dy() != h {
		t.Fatalf("%s is %v, want %dx%d", path, got, w, h)
	}
	return img
}

// CountColour counts the pixels of exactly colour c.
func CountColour(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) == c {
				n++
			}
		}
	}
	return n
}
