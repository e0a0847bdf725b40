package dlib

import (
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
)

// BenchmarkEmbedCrop is the cost of one face from another detector: crop,
// JPEG encoding, dlib detection in the crop, alignment and the ResNet.
func BenchmarkEmbedCrop(b *testing.B) {
	e := engine(b)
	img := loadImage(b, testdata(b, "faces/elkie.jpg"))
	faces, err := e.Detect(img)
	if err != nil || len(faces) != 1 {
		b.Fatalf("Detect: %d faces, %v", len(faces), err)
	}
	// A box Detect did not return, so the cache never answers.
	f := []recognizer.Face{asOtherDetector(faces[0])}
	for b.Loop() {
		embs, err := e.Embed(img, f)
		if err != nil || embs[0].Vec == nil {
			b.Fatalf("Embed: %v, %v", embs, err)
		}
	}
}

// BenchmarkDetect runs HOG detection, 68-point landmarks and the
// descriptor on a 640 px wide photo with one face.
func BenchmarkDetect(b *testing.B) {
	e := engine(b)
	full := loadImage(b, testdata(b, "faces/elkie.jpg"))
	img := resize(full, 640, full.H*640/full.W)
	for b.Loop() {
		faces, err := e.Detect(img)
		if err != nil || len(faces) != 1 {
			b.Fatalf("Detect: %d faces, %v", len(faces), err)
		}
	}
}
