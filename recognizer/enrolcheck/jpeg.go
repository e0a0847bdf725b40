package enrolcheck

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/dozor-edge/dozor/recognizer"
)

// StoredJPEGQuality is used when a photo has to be re-encoded for a
// store. It is high because the stored photo is what future models will
// be re-embedded from.
const StoredJPEGQuality = 95

// EncodeJPEG encodes a decoded photo for a store that does not take the
// file as it is, refusing a result over maxBytes. The encoding is
// deterministic, so the same file always gives the same stored bytes and
// the same hash.
func EncodeJPEG(img *recognizer.Image, maxBytes int) ([]byte, error) {
	if err := img.Validate(); err != nil {
		return nil, err
	}
	rgba := image.NewRGBA(image.Rect(0, 0, img.W, img.H))
	for i, j := 0, 0; i < len(img.Pix); i, j = i+3, j+4 {
		rgba.Pix[j], rgba.Pix[j+1], rgba.Pix[j+2], rgba.Pix[j+3] = img.Pix[i+2], img.Pix[i+1], img.Pix[i], 0xFF
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, rgba, &jpeg.Options{Quality: StoredJPEGQuality}); err != nil {
		return nil, err
	}
	if buf.Len() > maxBytes {
		return nil, fmt.Errorf("%d bytes even as JPEG, over the store's %d-byte limit", buf.Len(), maxBytes)
	}
	return buf.Bytes(), nil
}
