package opencv

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"

	"github.com/dozor-edge/dozor/recognizer"
)

// EmbedderSpec describes one ONNX embedding network: where its aligned chip
// puts the landmarks and how pixels are normalised before the forward pass.
// The values come from the model manifest (see internal/engines).
type EmbedderSpec struct {
	Name     string // short name used on the command line: "faceplugin", "dlibonnx"
	File     string // file name in the models directory
	Dim      int
	Template recognizer.Template
	Scale    float64    // multiplies (pixel - mean)
	Mean     [3]float64 // in R, G, B order when SwapRB is set
	SwapRB   bool       // feed the network RGB
	// ImpostorMean and ImpostorStd describe cosine similarities between
	// different people, measured on the development sets. Fusion divides
	// by them so neither model's score range dominates.
	ImpostorMean, ImpostorStd float64
}

// onnxEmbedder owns one network; not safe for concurrent use.
type onnxEmbedder struct {
	spec EmbedderSpec
	net  gocv.Net
}

func newONNXEmbedder(path string, spec EmbedderSpec) (*onnxEmbedder, error) {
	net := gocv.ReadNetFromONNX(path)
	if net.Empty() {
		return nil, fmt.Errorf("%s: cannot load %s", spec.Name, path)
	}
	return &onnxEmbedder{spec: spec, net: net}, nil
}

func (e *onnxEmbedder) Close() error { return e.net.Close() }

// features returns the raw network output for the aligned chip and, when
// flip is set, for its mirror image. Both go through the network as one
// batch of two, which costs less than two passes.
func (e *onnxEmbedder) features(img gocv.Mat, f recognizer.Face, flip bool) (plain, flipped []float32, err error) {
	m, err := recognizer.AlignTransform(f, e.spec.Template)
	if err != nil {
		return nil, nil, err
	}
	chip, err := warpChip(img, m, e.spec.Template.Size)
	if err != nil {
		return nil, nil, err
	}
	defer chip.Close()
	return e.forwardChip(chip, flip)
}

func (e *onnxEmbedder) forwardChip(chip gocv.Mat, flip bool) (plain, flipped []float32, err error) {
	size := image.Pt(e.spec.Template.Size, e.spec.Template.Size)
	mean := gocv.NewScalar(e.spec.Mean[0], e.spec.Mean[1], e.spec.Mean[2], 0)
	blob := gocv.NewMat()
	defer blob.Close()
	if flip {
		mirror := gocv.NewMat()
		defer mirror.Close()
		gocv.Flip(chip, &mirror, 1)
		gocv.BlobFromImages([]gocv.Mat{chip, mirror}, &blob, e.spec.Scale, size, mean, e.spec.SwapRB, false, gocv.MatTypeCV32F)
	} else {
		b := gocv.BlobFromImage(chip, e.spec.Scale, size, mean, e.spec.SwapRB, false)
		blob.Close()
		blob = b
	}
	e.net.SetInput(blob, "")
	out := e.net.Forward("")
	defer out.Close()
	data, err := out.DataPtrFloat32()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: output: %w", e.spec.Name, err)
	}
	n := 1
	if flip {
		n = 2
	}
	if len(data) != n*e.spec.Dim {
		return nil, nil, fmt.Errorf("%s: output has %d values, want %d", e.spec.Name, len(data), n*e.spec.Dim)
	}
	plain = append([]float32(nil), data[:e.spec.Dim]...)
	if flip {
		flipped = append([]float32(nil), data[e.spec.Dim:]...)
	}
	return plain, flipped, nil
}
