package edge

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"

	"github.com/dozor-edge/dozor/recognizer"
)

// Face crops: the evidence a guard looks at. The box is widened so the
// whole head shows, and large faces are scaled down: a crop is a few
// kilobytes, well under the store's and the wire's limits.
const (
	cropPad     = 0.3 // of the box size, on every side
	cropMaxSide = 160 // pixels
	cropQuality = 85
)

// cutCrop cuts the face in box out of a BGR frame, padded and scaled down
// to at most cropMaxSide, or returns nil when the box lies outside the
// frame. It runs for every face of every frame, so it only copies a few
// thousand pixels; the JPEG is made by encodeCrop for the one face a
// sighting keeps.
func cutCrop(img *recognizer.Image, box recognizer.Rect) *image.RGBA {
	if img.Validate() != nil {
		return nil
	}
	fx := func(v float32) float64 {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return 0
		}
		return float64(v)
	}
	bx, by, bw, bh := fx(box.X), fx(box.Y), fx(box.W), fx(box.H)
	x0 := clampInt(int(math.Floor(bx-cropPad*bw)), 0, img.W)
	y0 := clampInt(int(math.Floor(by-cropPad*bh)), 0, img.H)
	x1 := clampInt(int(math.Ceil(bx+bw+cropPad*bw)), 0, img.W)
	y1 := clampInt(int(math.Ceil(by+bh+cropPad*bh)), 0, img.H)
	w, h := x1-x0, y1-y0
	if w < 2 || h < 2 {
		return nil
	}
	scale := min(1, float64(cropMaxSide)/float64(max(w, h)))
	ow, oh := max(1, int(float64(w)*scale)), max(1, int(float64(h)*scale))
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	// Box filter: each output pixel averages the source pixels it covers,
	// so a scaled-down face keeps its detail instead of aliasing.
	for oy := range oh {
		sy0 := y0 + oy*h/oh
		sy1 := max(sy0+1, y0+(oy+1)*h/oh)
		for ox := range ow {
			sx0 := x0 + ox*w/ow
			sx1 := max(sx0+1, x0+(ox+1)*w/ow)
			var b, g, r, n int
			for sy := sy0; sy < sy1; sy++ {
				row := img.Pix[sy*img.W*3:]
				for sx := sx0; sx < sx1; sx++ {
					b += int(row[sx*3])
					g += int(row[sx*3+1])
					r += int(row[sx*3+2])
					n++
				}
			}
			o := out.PixOffset(ox, oy)
			out.Pix[o] = uint8(r / n)
			out.Pix[o+1] = uint8(g / n)
			out.Pix[o+2] = uint8(b / n)
			out.Pix[o+3] = 0xff
		}
	}
	return out
}

// encodeCrop encodes a face cut by cutCrop as a JPEG; nil for no image.
func encodeCrop(im image.Image) []byte {
	if im == nil || im.Bounds().Empty() {
		return nil
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, im, &jpeg.Options{Quality: cropQuality}); err != nil {
		return nil
	}
	return buf.Bytes()
}

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }
