package edge

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
)

func TestEncodeCrop(t *testing.T) {
	img := recognizer.NewImage(640, 360)
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	cases := []struct {
		name string
		box  recognizer.Rect
		w, h int // expected size, 0 for no crop
	}{
		{"small face, padded", recognizer.Rect{X: 100, Y: 100, W: 40, H: 50}, 64, 80},
		{"large face, scaled down", recognizer.Rect{X: 200, Y: 50, W: 200, H: 250}, 0, 160},
		{"clipped at the edge", recognizer.Rect{X: -20, Y: -20, W: 60, H: 60}, 58, 58},
		{"outside the frame", recognizer.Rect{X: 700, Y: 400, W: 30, H: 30}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cut := cutCrop(img, c.box)
			b := encodeCrop(cutImage(cut))
			if c.h == 0 {
				if b != nil {
					t.Fatalf("got a %d-byte crop for a box outside the frame", len(b))
				}
				return
			}
			im, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			sz := im.Bounds().Size()
			if sz.Y != c.h || (c.w != 0 && sz.X != c.w) || max(sz.X, sz.Y) > cropMaxSide {
				t.Errorf("crop %v, want %dx%d", sz, c.w, c.h)
			}
		})
	}
}

// cutImage keeps a nil *image.RGBA a nil image.Image, as the tracker
// hands it back.
func cutImage(c *image.RGBA) image.Image {
	if c == nil {
		return nil
	}
	return c
}
