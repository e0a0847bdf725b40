package opencv

import (
	"fmt"

	"gocv.io/x/gocv"

	"github.com/dozor-edge/dozor/recognizer"
)

// toMat copies a Go image into a new OpenCV-owned Mat. Copying (not aliasing
// Go memory) keeps the cgo pointer rules and lets the caller reuse Pix.
func toMat(img *recognizer.Image) (gocv.Mat, error) {
	if err := img.Validate(); err != nil {
		return gocv.Mat{}, err
	}
	m := gocv.NewMatWithSize(img.H, img.W, gocv.MatTypeCV8UC3)
	p, err := m.DataPtrUint8()
	if err != nil {
		m.Close()
		return gocv.Mat{}, fmt.Errorf("opencv: mat data: %w", err)
	}
	copy(p, img.Pix)
	return m, nil
}

// fromMat copies a BGR Mat into a Go image.
func fromMat(m gocv.Mat) (*recognizer.Image, error) {
	if m.Empty() || m.Type() != gocv.MatTypeCV8UC3 {
		return nil, fmt.Errorf("opencv: want a non-empty 8-bit BGR Mat, have type %v", m.Type())
	}
	if !m.IsContinuous() {
		c := m.Clone()
		defer c.Close()
		return fromMat(c)
	}
	p, err := m.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	img := &recognizer.Image{W: m.Cols(), H: m.Rows(), Pix: make([]byte, len(p))}
	copy(img.Pix, p)
	return img, nil
}
