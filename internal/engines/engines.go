// Package engines builds the recognition engines from a verified models
// directory. It is the one place where the model manifest (file names,
// preprocessing, alignment templates) meets the engine implementations, so
// the daemon and the CLI construct identical pipelines.
package engines

import (
	"fmt"
	"runtime"

	"github.com/dozor-edge/dozor/models"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/dlib"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

// Names of the embedders as the command line and the config spell them.
const (
	FacePlugin = "faceplugin"
	DlibONNX   = "dlibonnx"
	Fused      = "fused"
	GoFaceDlib = "gofacedlib"
	// Default is what the daemon runs unless configured otherwise: the
	// fused pair, chosen on open-set 1:N over cfp-dev (see README,
	// "Accuracy").
	Default = Fused
)

// Names lists every engine name in the order tables show them.
var Names = []string{Fused, FacePlugin, DlibONNX, GoFaceDlib}

// impostorStats are the mean and standard deviation of cosine similarity
// between different people, per embedder, measured with `edgectl eval
// calibrate` over the pairs of lfw-dev, celeba-dev and cfp-dev. Fusion
// divides each model's score by its spread so both count alike.
var impostorStats = map[string][2]float64{
	FacePlugin: {0.014, 0.097},
	DlibONNX:   {0.842, 0.038},
}

var manifestFile = map[string]string{FacePlugin: models.FacePlugin, DlibONNX: models.DlibONNX}

// Spec returns the embedder spec of one ONNX embedder from the manifest.
func Spec(name string) (opencv.EmbedderSpec, error) {
	file, ok := manifestFile[name]
	if !ok {
		return opencv.EmbedderSpec{}, fmt.Errorf("unknown embedder %q", name)
	}
	f, ok := models.Lookup(file)
	if !ok || len(f.Templates) == 0 || f.Blob.Scale == 0 {
		return opencv.EmbedderSpec{}, fmt.Errorf("manifest entry for %s lacks a template or preprocessing", file)
	}
	t := f.Templates[0]
	s := opencv.EmbedderSpec{
		Name: name, File: f.Name, Dim: f.Dim,
		Template: recognizer.Template{Size: t.Size},
		Scale:    f.Blob.Scale, Mean: f.Blob.Mean, SwapRB: f.Blob.SwapRB,
		ImpostorMean: impostorStats[name][0], ImpostorStd: impostorStats[name][1],
	}
	for i, p := range t.Points {
		s.Template.Points[i] = recognizer.Point(p)
	}
	return s, nil
}

// Specs returns the embedders an engine name stands for.
func Specs(engine string) ([]opencv.EmbedderSpec, error) {
	var names []string
	switch engine {
	case Fused:
		names = []string{FacePlugin, DlibONNX}
	case FacePlugin, DlibONNX:
		names = []string{engine}
	default:
		return nil, fmt.Errorf("engine %q is not an OpenCV engine (have %s, %s, %s)", engine, Fused, FacePlugin, DlibONNX)
	}
	specs := make([]opencv.EmbedderSpec, len(names))
	for i, n := range names {
		s, err := Spec(n)
		if err != nil {
			return nil, err
		}
		specs[i] = s
	}
	return specs, nil
}

// OpenCVConfig is the OpenCV engine configuration for an engine name,
// with mirrored chips on (the shipped setting).
func OpenCVConfig(modelDir, engine string, det opencv.DetectorConfig) (opencv.Config, error) {
	specs, err := Specs(engine)
	if err != nil {
		return opencv.Config{}, err
	}
	return opencv.Config{ModelDir: modelDir, Detector: det, Embedders: specs, Flip: true}, nil
}

// NewOpenCV verifies the model files an engine needs (size and sha256,
// before any byte reaches OpenCV, which aborts the process on some
// malformed files) and builds the engine.
func NewOpenCV(modelDir, engine string, det opencv.DetectorConfig) (*opencv.Engine, error) {
	cfg, err := OpenCVConfig(modelDir, engine, det)
	if err != nil {
		return nil, err
	}
	files, err := Files(engine)
	if err != nil {
		return nil, err
	}
	if err := models.Verify(modelDir, files...); err != nil {
		return nil, err
	}
	return opencv.New(cfg)
}

// Files lists the model files an engine name needs ("" and "default"
// mean Default): what New verifies before building it.
func Files(name string) ([]string, error) {
	if name == "" || name == "default" {
		name = Default
	}
	if name == GoFaceDlib {
		return []string{models.GoFaceResNet, models.GoFaceMMOD}, nil
	}
	specs, err := Specs(name)
	if err != nil {
		return nil, err
	}
	files := []string{models.YuNet}
	for _, s := range specs {
		files = append(files, s.File)
	}
	return files, nil
}

// New builds any engine by name behind the recognizer.Engine interface,
// verifying its model files first. "default" means Default. The go-face
// engine also needs Debian's libdlib-data (see recognizer/dlib).
func New(modelDir, name string, det opencv.DetectorConfig) (recognizer.Engine, error) {
	if name == "" || name == "default" {
		name = Default
	}
	if name != GoFaceDlib {
		return NewOpenCV(modelDir, name, det)
	}
	files, err := Files(name)
	if err != nil {
		return nil, err
	}
	if err := models.Verify(modelDir, files...); err != nil {
		return nil, err
	}
	return dlib.New(dlib.Options{ModelsDir: modelDir})
}

// ForWorkers returns a factory of the engine named name for workers
// running side by side, as the daemon runs them: faces are detected on
// frames scaled to detectionSize on the long side, and OpenCV's own thread
// pool is shared out between the workers, since each using every core
// would oversubscribe them. Each engine the factory builds verifies the
// model files first (New).
func ForWorkers(modelDir, name string, detectionSize, workers int) func() (recognizer.Engine, error) {
	det := opencv.DefaultDetectorConfig
	det.MaxSide = detectionSize
	opencv.SetNumThreads(max(1, runtime.NumCPU()/max(1, workers)))
	return func() (recognizer.Engine, error) { return New(modelDir, name, det) }
}
