package engines

import (
	"os"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

// StillMaxSide bounds decoded still photos: larger ones are decoded
// reduced. The detector works at 640 anyway; the embedders' chips gain
// nothing beyond.
const StillMaxSide = 1280

// DetectFile decodes a still photo (enrolment, evaluation, the faces
// command) and finds its faces.
func DetectFile(d recognizer.Detector, path string) (*recognizer.Image, []recognizer.Face, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	img, err := opencv.DecodeImage(data, StillMaxSide)
	if err != nil {
		return nil, nil, err
	}
	faces, err := d.Detect(img)
	return img, faces, err
}
