package recognizer

import "fmt"

// Image is a packed 8-bit BGR picture owned by Go: the form frames and
// decoded photos take between the camera, the engines and the tests.
type Image struct {
	W, H int
	// Pix holds H rows of W*3 bytes, blue first.
	Pix []byte
}

// NewImage allocates a black BGR image.
func NewImage(w, h int) *Image {
	return &Image{W: w, H: h, Pix: make([]byte, w*h*3)}
}

// Validate reports whether the dimensions and the buffer agree.
func (im *Image) Validate() error {
	if im == nil {
		return fmt.Errorf("image: nil")
	}
	if im.W <= 0 || im.H <= 0 {
		return fmt.Errorf("image: empty (%dx%d)", im.W, im.H)
	}
	if len(im.Pix) != im.W*im.H*3 {
		return fmt.Errorf("image: %dx%d BGR needs %d bytes, have %d", im.W, im.H, im.W*im.H*3, len(im.Pix))
	}
	return nil
}
