package opencv

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/dozor-edge/dozor/recognizer"
)

// Config selects the detector settings and the embedders of an engine. One
// embedder gives that model's embedding; two are fused into one.
type Config struct {
	ModelDir  string
	Detector  DetectorConfig
	Embedders []EmbedderSpec
	// Weights are the fusion weights of the embedders (equal when nil),
	// applied on top of each model's impostor-score normalisation.
	Weights []float64
	// Flip adds the mirrored chip to every embedding (test-time augmentation).
	Flip bool
	// Quality gates faces for Detect's Quality.Reason.
	Quality recognizer.QualityPolicy
}

// Engine runs YuNet and the ONNX embedders through OpenCV DNN. Not safe for
// concurrent use: give each worker its own Engine.
type Engine struct {
	cfg   Config
	det   *yunet
	embs  []*onnxEmbedder
	model recognizer.ModelID
	dim   int
	// templates are the chip layouts cut per face: the quality chip's
	// and each embedder's.
	templates []recognizer.Template
}

// New loads the networks. The caller verifies the files first
// (models.Verify): OpenCV aborts the process on some malformed files.
func New(cfg Config) (*Engine, error) {
	if len(cfg.Embedders) == 0 {
		return nil, errors.New("opencv engine: no embedder configured")
	}
	if cfg.Weights != nil && len(cfg.Weights) != len(cfg.Embedders) {
		return nil, fmt.Errorf("opencv engine: %d weights for %d embedders", len(cfg.Weights), len(cfg.Embedders))
	}
	if cfg.Quality == (recognizer.QualityPolicy{}) {
		cfg.Quality = recognizer.DefaultMatchPolicy
	}
	e := &Engine{cfg: cfg}
	var err error
	if e.det, err = newYuNet(filepath.Join(cfg.ModelDir, YuNetFile), cfg.Detector); err != nil {
		return nil, err
	}
	for _, s := range cfg.Embedders {
		emb, err := newONNXEmbedder(filepath.Join(cfg.ModelDir, s.File), s)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.embs = append(e.embs, emb)
		e.dim += s.Dim
	}
	if len(e.embs) == 1 {
		e.dim = cfg.Embedders[0].Dim
	}
	e.model = ModelIDFor(cfg.Embedders, cfg.Weights, cfg.Flip)
	e.templates = []recognizer.Template{qualityTemplate}
	for _, s := range cfg.Embedders {
		e.templates = append(e.templates, s.Template)
	}
	return e, nil
}

// YuNetFile is the detector's file name in the models directory.
const YuNetFile = "face_detection_yunet_2026may.onnx"

// ModelIDFor names the embedding space a configuration produces. Flip and
// fusion weights are part of the name: vectors made without them are not
// comparable with vectors made with them.
func ModelIDFor(specs []EmbedderSpec, weights []float64, flip bool) recognizer.ModelID {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	id := strings.Join(names, "+")
	if len(specs) > 1 {
		id = "fused(" + id
		if weights != nil {
			id += fmt.Sprintf(";w=%v", weights)
		}
		id += ")"
	}
	if flip {
		id += "/flip"
	}
	return recognizer.ModelID(id)
}

func (e *Engine) Name() string              { return string(e.model) }
func (e *Engine) Model() recognizer.ModelID { return e.model }
func (e *Engine) Dim() int                  { return e.dim }

// Close frees the networks.
func (e *Engine) Close() error {
	var errs []error
	if e.det != nil {
		errs = append(errs, e.det.Close())
		e.det = nil
	}
	for _, m := range e.embs {
		errs = append(errs, m.Close())
	}
	e.embs = nil
	return errors.Join(errs...)
}

// Detect finds faces with their quality assessed. Faces are in img's
// pixels; when img carries a full-resolution picture, sharpness and
// inter-ocular distance are measured on it, where the chips are cut.
func (e *Engine) Detect(img *recognizer.Image) ([]recognizer.Face, error) {
	faces, _, err := e.Recognize(img, func(recognizer.Face) bool { return false })
	return faces, err
}

// qualityTemplate is the standard 112 px ArcFace layout. Sharpness is
// measured on this chip so the figure means the same whatever embedders are
// configured.
var qualityTemplate = recognizer.Template{Size: 112, Points: [5]recognizer.Point{
	{X: 38.2946, Y: 51.6963}, {X: 73.5318, Y: 51.5014}, {X: 56.0252, Y: 71.7366}, {X: 41.5493, Y: 92.3655}, {X: 70.7299, Y: 92.2041}}}

func (e *Engine) quality(c faceCut, score float32) recognizer.Quality {
	var sharp float32
	if a, err := recognizer.AlignTransform(c.face, qualityTemplate); err == nil {
		if chip, err := warpChip(c.m, a, qualityTemplate.Size); err == nil {
			sharp = chipSharpness(chip)
			chip.Close()
		}
	}
	f := c.face
	f.Score = score
	return recognizer.AssessQuality(f, sharp, e.cfg.Quality)
}

// Embed returns one embedding per face. The faces are in img's pixels;
// chips come from img.Full when it is set.
func (e *Engine) Embed(img *recognizer.Image, faces []recognizer.Face) ([]recognizer.Embedding, error) {
	feats, err := e.Features(img, faces)
	if err != nil {
		return nil, err
	}
	out := make([]recognizer.Embedding, len(faces))
	for i := range faces {
		out[i] = Combine(e.model, e.cfg.Embedders, feats[i], e.cfg.Weights, e.cfg.Flip)
	}
	return out, nil
}

// Recognize detects the faces and embeds those want accepts (all when want
// is nil), converting the image to a Mat once. Detection runs on img;
// quality and chips come from img.Full when it is set.
func (e *Engine) Recognize(img *recognizer.Image, want func(recognizer.Face) bool) ([]recognizer.Face, []recognizer.Embedding, error) {
	m, err := toMat(img)
	if err != nil {
		return nil, nil, err
	}
	defer m.Close()
	faces, err := e.det.detect(m)
	if err != nil || len(faces) == 0 {
		return faces, nil, err
	}
	src := newChipSource(m, img, e.templates)
	embs := make([]recognizer.Embedding, len(faces))
	for i := range faces {
		embs[i].Model = e.model
		c, err := src.cut(faces[i])
		if err != nil {
			return faces, nil, fmt.Errorf("face %d: %w", i, err)
		}
		faces[i].Quality = e.quality(c, faces[i].Score)
		if want != nil && !want(faces[i]) {
			c.Close()
			continue
		}
		feats, err := e.features(c)
		c.Close()
		if err != nil {
			return faces, nil, fmt.Errorf("face %d: %w", i, err)
		}
		embs[i] = Combine(e.model, e.cfg.Embedders, feats, e.cfg.Weights, e.cfg.Flip)
	}
	return faces, embs, nil
}

// Feature is one embedder's raw output for a face: the chip and its mirror.
type Feature struct {
	Plain, Flipped []float32
}

// Features returns the raw outputs of every configured embedder for each
// face, with the mirrored chip included when Flip is set. Evaluation caches
// these so every fusion and flip variant can be scored from one pass.
func (e *Engine) Features(img *recognizer.Image, faces []recognizer.Face) ([][]Feature, error) {
	m, err := toMat(img)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	src := newChipSource(m, img, e.templates)
	out := make([][]Feature, len(faces))
	for i, f := range faces {
		c, err := src.cut(f)
		if err != nil {
			return nil, fmt.Errorf("face %d: %w", i, err)
		}
		out[i], err = e.features(c)
		c.Close()
		if err != nil {
			return nil, fmt.Errorf("face %d: %w", i, err)
		}
	}
	return out, nil
}

func (e *Engine) features(c faceCut) ([]Feature, error) {
	feats := make([]Feature, len(e.embs))
	for j, emb := range e.embs {
		p, fl, err := emb.features(c.m, c.face, e.cfg.Flip)
		if err != nil {
			return nil, err
		}
		feats[j] = Feature{Plain: p, Flipped: fl}
	}
	return feats, nil
}

// Combine turns raw features into the engine's embedding: flip merge per
// model, then score-level fusion with each model's impostor-score spread as
// its normaliser.
func Combine(id recognizer.ModelID, specs []EmbedderSpec, feats []Feature, weights []float64, flip bool) recognizer.Embedding {
	vec := func(j int) []float32 {
		if flip {
			return recognizer.MergeFlip(feats[j].Plain, feats[j].Flipped)
		}
		return recognizer.MergeFlip(feats[j].Plain, nil)
	}
	if len(specs) == 1 {
		return recognizer.Embedding{Model: id, Vec: vec(0)}
	}
	parts := make([]recognizer.FusionPart, len(specs))
	for j, s := range specs {
		w := 1.0
		if weights != nil {
			w = weights[j]
		}
		parts[j] = recognizer.FusionPart{Vec: vec(j), Weight: w / s.ImpostorStd}
	}
	return recognizer.Fuse(id, parts)
}
