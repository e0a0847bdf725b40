package opencv

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
)

func facePhoto(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.TestData(t, "lfw-dev"), "images", "George_Clooney", "George_Clooney_0001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reencode decodes a real photo with the standard library and writes it
// back through conv, to make grey, alpha and other variants of a real face.
func reencode(t testing.TB, src []byte, conv func(image.Image) image.Image, asPNG bool) []byte {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	out := conv(img)
	if asPNG {
		err = png.Encode(&buf, out)
	} else {
		err = jpeg.Encode(&buf, out, &jpeg.Options{Quality: 92})
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func toGray(img image.Image) image.Image {
	b := img.Bounds()
	g := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g.Set(x, y, img.At(x, y))
		}
	}
	return g
}

func toAlpha(img image.Image) image.Image {
	b := img.Bounds()
	n := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			n.SetNRGBA(x, y, color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), uint8(128 + x%128)})
		}
	}
	return n
}

func tinyPNG(t testing.TB, w, h int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeBadInput(t *testing.T) {
	photo := facePhoto(t)
	pngPhoto := reencode(t, photo, func(i image.Image) image.Image { return i }, true)
	corrupt := append([]byte(nil), photo...)
	for i := 600; i < len(corrupt)-600; i += 7 {
		corrupt[i] = 0xFF // markers everywhere: the entropy-coded data is garbage
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not an image", []byte("hello, this is not a photo at all")},
		{"truncated JPEG", photo[:len(photo)/2]},
		{"JPEG header only", photo[:300]},
		{"corrupt JPEG body", corrupt},
		{"truncated PNG", pngPhoto[:len(pngPhoto)/2]},
		{"PNG header only", pngPhoto[:40]},
		{"1x1 PNG", tinyPNG(t, 1, 1)},
		{"zero-sized PNG header", func() []byte {
			b := tinyPNG(t, 4, 4)
			copy(b[16:24], []byte{0, 0, 0, 0, 0, 0, 0, 0}) // IHDR width and height
			return b
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := DecodeImage(c.data, 1280)
			if err == nil {
				// libjpeg may still make sense of a damaged body; what
				// matters is a well-formed image or a clear error.
				if c.name == "corrupt JPEG body" && img.Validate() == nil {
					return
				}
				t.Fatalf("accepted: %dx%d", img.W, img.H)
			}
			if !errors.Is(err, ErrBadImage) {
				t.Fatalf("error %v is not ErrBadImage", err)
			}
			t.Logf("%s: %v", c.name, err)
		})
	}
}

func TestDecodeVariantsStillFindTheFace(t *testing.T) {
	e := newTestEngine(t, facePlugin(t))
	photo := facePhoto(t)
	cases := []struct {
		name string
		data []byte
	}{
		{"JPEG", photo},
		{"grey JPEG", reencode(t, photo, toGray, false)},
		{"grey PNG", reencode(t, photo, toGray, true)},
		{"PNG with alpha", reencode(t, photo, toAlpha, true)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := DecodeImage(c.data, 1280)
			if err != nil {
				t.Fatal(err)
			}
			if img.W != 250 || img.H != 250 || len(img.Pix) != 250*250*3 {
				t.Fatalf("decoded %dx%d with %d bytes", img.W, img.H, len(img.Pix))
			}
			faces, err := e.Detect(img)
			if err != nil || len(faces) == 0 {
				t.Fatalf("%d faces, %v", len(faces), err)
			}
		})
	}
}

// An 8000x8000 photo is decoded at reduced size straight from the JPEG
// (never as a 192 MB full-size buffer) and the face in it is still found.
func TestDecodeHugeImage(t *testing.T) {
	e := newTestEngine(t, facePlugin(t))
	src, err := gocv.IMDecode(facePhoto(t), gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	big := gocv.NewMat()
	defer big.Close()
	gocv.Resize(src, &big, image.Pt(8000, 8000), 0, 0, gocv.InterpolationLinear)
	buf, err := gocv.IMEncode(gocv.JPEGFileExt, big)
	if err != nil {
		t.Fatal(err)
	}
	data := append([]byte(nil), buf.GetBytes()...)
	buf.Close()
	img, err := DecodeImage(data, 1280)
	if err != nil {
		t.Fatal(err)
	}
	if max(img.W, img.H) > 1280 {
		t.Fatalf("huge image decoded at %dx%d, want at most 1280", img.W, img.H)
	}
	faces, err := e.Detect(img)
	if err != nil || len(faces) == 0 {
		t.Fatalf("face lost after downscaling: %d faces, %v", len(faces), err)
	}
	// A header claiming more than MaxPixels is refused before decoding.
	var hdr bytes.Buffer
	if err := png.Encode(&hdr, image.NewGray(image.Rect(0, 0, 16, 16))); err != nil {
		t.Fatal(err)
	}
	b := hdr.Bytes()
	copy(b[16:24], []byte{0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20}) // 20000 x 20000
	if _, err := DecodeImage(b, 1280); !errors.Is(err, ErrBadImage) {
		t.Fatalf("400-megapixel header: %v", err)
	}
}

func TestNoFace(t *testing.T) {
	e := newTestEngine(t, facePlugin(t))
	img, err := DecodeImage(tinyPNG(t, 640, 480), 0)
	if err != nil {
		t.Fatal(err)
	}
	faces, embs, err := e.Recognize(img, nil)
	if err != nil || len(faces) != 0 || len(embs) != 0 {
		t.Fatalf("blank image: %d faces, %d embeddings, %v", len(faces), len(embs), err)
	}
}

func TestEngineRejectsMalformedImages(t *testing.T) {
	e := newTestEngine(t, facePlugin(t))
	for name, img := range map[string]*recognizer.Image{
		"nil pixels":   {W: 10, H: 10},
		"short buffer": {W: 10, H: 10, Pix: make([]byte, 299)},
		"zero size":    {W: 0, H: 0},
		"1x1":          {W: 1, H: 1, Pix: make([]byte, 3)},
	} {
		if _, err := e.Detect(img); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzDecodeImage: whatever the bytes, DecodeImage returns a valid image or
// an error, and never crashes the process inside OpenCV.
func FuzzDecodeImage(f *testing.F) {
	photo := facePhoto(f)
	f.Add(photo)
	f.Add(photo[:len(photo)/3])
	f.Add(tinyPNG(f, 3, 3))
	f.Add(reencode(f, photo, toAlpha, true)[:2000])
	f.Add([]byte("GIF89a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeImage(data, 640)
		if err != nil {
			return
		}
		if err := img.Validate(); err != nil || max(img.W, img.H) > 640 {
			t.Fatalf("bad result %dx%d: %v", img.W, img.H, err)
		}
	})
}
