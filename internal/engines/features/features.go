// Package features runs the recognition engines over data-set photos for
// recognizer/eval: extractors that keep each image's labelled face and
// raw per-model vectors, and variants that turn those vectors into the
// embedding of one engine configuration. It is a package of its own so
// that the daemon, which builds its engines with internal/engines, does
// not link the evaluation code.
package features

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/models"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/dlib"
	"github.com/dozor-edge/dozor/recognizer/eval"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

// Variant is an engine configuration scored from cached features: an
// engine name (engines.Names), mirrored chips or not, and fusion weights
// (nil for equal weights after score normalisation). It implements
// eval.Variant.
type Variant struct {
	Engine  string
	Flip    bool
	Weights []float64
}

// NewVariant checks an engine configuration. "default" means
// engines.Default. The go-face engine has no mirrored chip, so flip is
// ignored for it.
func NewVariant(engine string, flip bool, weights []float64) (Variant, error) {
	name := engine
	if name == "default" {
		name = engines.Default
	}
	if !slices.Contains(engines.Names, name) {
		return Variant{}, fmt.Errorf("unknown engine %q (have default, %s)", engine, strings.Join(engines.Names, ", "))
	}
	if weights != nil && len(weights) != 2 {
		return Variant{}, fmt.Errorf("fusion weights: want two numbers (%s,%s), got %d", engines.FacePlugin, engines.DlibONNX, len(weights))
	}
	return Variant{Engine: name, Flip: flip && name != engines.GoFaceDlib, Weights: weights}, nil
}

func (v Variant) specs() []opencv.EmbedderSpec {
	specs, _ := engines.Specs(v.Engine) // nil for the go-face engine
	return specs
}

// Model names the embedding space, as the live engine of the same
// configuration would.
func (v Variant) Model() recognizer.ModelID {
	if v.Engine == engines.GoFaceDlib {
		return dlib.ModelID
	}
	return opencv.ModelIDFor(v.specs(), v.Weights, v.Flip)
}

// Embed combines an image's raw vectors as the engine does (flip merge,
// then fusion); nil without a face or without the vectors it needs.
func (v Variant) Embed(f eval.Features) []float32 {
	if f.NoFace {
		return nil
	}
	if v.Engine == engines.GoFaceDlib {
		return f.Vecs[dlib.EngineName].Plain
	}
	specs := v.specs()
	feats := make([]opencv.Feature, len(specs))
	for i, s := range specs {
		r, ok := f.Vecs[s.Name]
		if !ok {
			return nil
		}
		feats[i] = opencv.Feature{Plain: r.Plain, Flipped: r.Flipped}
	}
	return opencv.Combine(v.Model(), specs, feats, v.Weights, v.Flip).Vec
}

// Extraction kinds: one OpenCV pass (YuNet and both ONNX embedders, with
// mirrored chips) yields every OpenCV engine's variants; the go-face
// engine needs its own.
const (
	kindOpenCV = "opencv"
	kindDlib   = "gofacedlib"
)

// version changes whenever extraction changes what it stores (detector
// settings, face choice, alignment), invalidating old caches.
const version = "v1"

func kindOf(engine string) string {
	if engine == engines.GoFaceDlib {
		return kindDlib
	}
	return kindOpenCV
}

// Key names the extraction an engine's variants are scored from: its
// kind, version and the exact model files (by sha256), so a cache is
// never reused across different weights.
func Key(engine string) (string, error) {
	kind := kindOf(engine)
	names := []string{models.YuNet, models.FacePlugin, models.DlibONNX}
	if kind == kindDlib {
		names = []string{models.YuNet, models.GoFaceResNet}
	}
	key := kind + "/" + version
	for _, n := range names {
		f, ok := models.Lookup(n)
		if !ok {
			return "", fmt.Errorf("model %s missing from the manifest", n)
		}
		key += "/" + f.SHA256[:12]
	}
	return key, nil
}

// Label is the extraction's name in progress output: the data set and
// the extraction kind, such as "lfw-dev opencv".
func Label(ds *eval.Dataset, engine string) string {
	return ds.Name() + " " + kindOf(engine)
}

// NewExtraction returns the extraction for an engine's variants from a
// verified models directory, with one worker per CPU.
func NewExtraction(modelDir, engine string) (eval.Extraction, error) {
	key, err := Key(engine)
	if err != nil {
		return eval.Extraction{}, err
	}
	x := eval.Extraction{Key: key, New: func() (eval.Extractor, error) { return newOpenCVExtractor(modelDir) }}
	if kindOf(engine) == kindDlib {
		x.New = func() (eval.Extractor, error) { return newDlibExtractor(modelDir) }
	}
	return x, nil
}

// Extract is x.Features with OpenCV's own threads off while several
// workers run: they split the images, and OpenCV threads inside each
// would only fight over the same cores.
func Extract(ctx context.Context, ds *eval.Dataset, x eval.Extraction) (map[string]eval.Features, error) {
	if x.Workers != 1 {
		opencv.SetNumThreads(1)
		defer opencv.SetNumThreads(0)
	}
	return x.Features(ctx, ds)
}

// stillDetector is the detector configuration for data-set photos: a
// missed face costs more than the second, upscaled pass.
func stillDetector() opencv.DetectorConfig {
	det := opencv.DefaultDetectorConfig
	det.RetryUpscale = true
	return det
}

// stillEngine is the OpenCV engine named, with the still detector.
func stillEngine(modelDir, name string) (*opencv.Engine, error) {
	cfg, err := engines.OpenCVConfig(modelDir, name, stillDetector())
	if err != nil {
		return nil, err
	}
	return opencv.New(cfg)
}

// opencvExtractor runs YuNet and both ONNX embedders, with mirrored
// chips, so one pass yields every OpenCV engine variant.
type opencvExtractor struct{ e *opencv.Engine }

func newOpenCVExtractor(modelDir string) (*opencvExtractor, error) {
	e, err := stillEngine(modelDir, engines.Fused)
	if err != nil {
		return nil, err
	}
	return &opencvExtractor{e: e}, nil
}

func (x *opencvExtractor) Close() error { return x.e.Close() }

func (x *opencvExtractor) Extract(path string) eval.Features {
	return extractMain(x.e, path, func(img *recognizer.Image, face recognizer.Face) (eval.Features, error) {
		feats, err := x.e.Features(img, []recognizer.Face{face})
		if err != nil {
			return eval.Features{}, err
		}
		return eval.Features{Face: face, Vecs: map[string]eval.RawVec{
			engines.FacePlugin: {Plain: feats[0][0].Plain, Flipped: feats[0][0].Flipped},
			engines.DlibONNX:   {Plain: feats[0][1].Plain, Flipped: feats[0][1].Flipped},
		}}, nil
	})
}

// extractMain detects the faces of the photo at path with det, picks the
// labelled one (eval.MainFace) and has embed describe it. A photo that
// cannot be read, shows no face or fails to embed counts as one without
// a face, with the error kept.
func extractMain(det recognizer.Detector, path string, embed func(*recognizer.Image, recognizer.Face) (eval.Features, error)) eval.Features {
	img, faces, err := engines.DetectFile(det, path)
	if err != nil {
		return eval.Features{Err: err.Error(), NoFace: true}
	}
	i := eval.MainFace(faces, img.W, img.H)
	if i < 0 {
		return eval.Features{NoFace: true}
	}
	f, err := embed(img, faces[i])
	if err != nil {
		return eval.Features{Err: err.Error(), NoFace: true}
	}
	return f
}

// dlibExtractor evaluates the go-face engine: YuNet picks the labelled
// face (the same face every engine is scored on), then dlib finds it
// again in a crop, aligns it with its own landmarks and embeds it.
type dlibExtractor struct {
	det *opencv.Engine
	d   *dlib.Engine
}

func newDlibExtractor(modelDir string) (*dlibExtractor, error) {
	e, err := stillEngine(modelDir, engines.FacePlugin)
	if err != nil {
		return nil, err
	}
	d, err := dlib.New(dlib.Options{ModelsDir: modelDir})
	if err != nil {
		e.Close()
		return nil, err
	}
	return &dlibExtractor{det: e, d: d}, nil
}

func (x *dlibExtractor) Close() error {
	x.d.Close()
	return x.det.Close()
}

func (x *dlibExtractor) Extract(path string) eval.Features {
	return extractMain(x.det, path, func(img *recognizer.Image, face recognizer.Face) (eval.Features, error) {
		embs, err := x.d.Embed(img, []recognizer.Face{face})
		if err != nil {
			return eval.Features{}, err
		}
		if embs[0].Vec == nil {
			return eval.Features{NoFace: true, Face: face}, nil
		}
		return eval.Features{Face: face, Vecs: map[string]eval.RawVec{dlib.EngineName: {Plain: embs[0].Vec}}}, nil
	})
}
