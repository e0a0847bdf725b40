package recognizer

import "fmt"

// Image is a packed 8-bit BGR picture owned by Go: the form frames and
// decoded photos take between the camera, the engines and the tests.
type Image struct {
	W, H int
	// Pix holds H rows of W*3 bytes, blue first.
	Pix []byte
	// Full, when set, is the same picture at a higher resolution (a
	// camera frame is detected at a reduced size). Faces are found in the
	// image and keep its coordinates; engines that align their own chips
	// cut them from Full, with the landmarks scaled by Full.W/W and
	// Full.H/H, so a small face keeps every pixel the camera gave it.
	Full *Image
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
	if f := im.Full; f != nil {
		if f.Full != nil {
			return fmt.Errorf("image: full picture has a full picture of its own")
		}
		if err := f.Validate(); err != nil {
			return fmt.Errorf("full picture: %w", err)
		}
		if f.W < im.W || f.H < im.H {
			return fmt.Errorf("image: full picture %dx%d is smaller than the image %dx%d", f.W, f.H, im.W, im.H)
		}
	}
	return nil
}

// FullScale is how many pixels of the full picture one image pixel spans,
// across and down (1, 1 without one).
func (im *Image) FullScale() (sx, sy float32) {
	if im.Full == nil {
		return 1, 1
	}
	return float32(im.Full.W) / float32(im.W), float32(im.Full.H) / float32(im.H)
}

// ScaleFace maps a face to another resolution: box and landmarks
// multiplied by sx across and sy down.
func ScaleFace(f Face, sx, sy float32) Face {
	f.Box = Rect{X: f.Box.X * sx, Y: f.Box.Y * sy, W: f.Box.W * sx, H: f.Box.H * sy}
	for i, p := range f.Landmarks {
		f.Landmarks[i] = Point{X: p.X * sx, Y: p.Y * sy}
	}
	return f
}
