package dlib

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"os"
	"sync"

	face "github.com/Kagami/go-face"

	"github.com/dozor-edge/dozor/recognizer"
)

const (
	// EngineName is what Name returns.
	EngineName = "gofacedlib"
	// ModelID tags this engine's embeddings. They are not comparable with
	// those of the ONNX port of the same network: the alignment differs.
	ModelID recognizer.ModelID = "dlib-resnet-v1/gofacedlib"
	// Dim is the descriptor length.
	Dim = 128
)

// Detector picks dlib's face detector.
type Detector int

const (
	// HOG is dlib's frontal_face_detector: fast on a CPU, frontal faces of
	// about 80 px and more only (go-face runs it without upsampling).
	HOG Detector = iota
	// CNN is dlib's mmod detector: finds smaller and more turned faces but
	// is many times slower than HOG on a CPU.
	CNN
)

// Defaults for Options fields left zero.
const (
	DefaultCropMargin  = 0.6
	DefaultMaxCropSide = 300
	DefaultMinFaceSide = 120
)

// maxUpscale limits how far Embed enlarges a small face: beyond that the
// detail is not in the pixels and dlib's result would be unreliable anyway.
const maxUpscale = 4

// Options configure New. Only ModelsDir is required.
type Options struct {
	// ModelsDir is the models directory holding the go-face/ subfolder
	// with dlib_face_recognition_resnet_model_v1.dat and
	// mmod_human_face_detector.dat.
	ModelsDir string
	// ShapePredictor68 is the path of dlib's 68-point landmark model;
	// empty means DefaultShapePredictor68 (Debian's libdlib-data).
	ShapePredictor68 string
	// Detector is used by Detect and by Embed when it looks for the face
	// again inside its crop. Zero is HOG.
	Detector Detector
	// CropMargin is how much context Embed keeps around a face box, as a
	// fraction of the box width (height) on the left and right (top and
	// bottom). dlib must find the face again in the crop, and its detector
	// needs the surroundings of the face for that. Zero means
	// DefaultCropMargin.
	CropMargin float32
	// MaxCropSide bounds the longer side of the crop Embed hands to dlib, in
	// pixels; a larger crop is shrunk. Zero means DefaultMaxCropSide.
	MaxCropSide int
	// MinFaceSide is the face box size, in crop pixels, below which Embed
	// enlarges the crop (up to 4x) so the detector can find the face. Zero
	// means DefaultMinFaceSide.
	MinFaceSide int
}

// Engine is a recognizer.Engine running dlib through go-face: dlib's
// detector, its 68-point shape predictor and its ResNet descriptor.
//
// go-face's recognizer is not safe for concurrent use, so every call holds
// the engine's lock: calls from several goroutines are serialised, not
// parallel. Create one Engine per worker to use several cores.
type Engine struct {
	opts Options

	mu   sync.Mutex
	rec  *face.Recognizer
	enc  encoder
	seed maphash.Seed
	last detectCache
}

// detectCache remembers the faces and descriptors of the latest Detect so
// that Embed on the same image and faces costs nothing. dlib computes the
// descriptor during detection anyway.
type detectCache struct {
	valid bool
	w, h  int
	sum   uint64
	faces []recognizer.Face
	vecs  [][]float32
}

// ErrClosed is returned by calls on a closed Engine.
var ErrClosed = errors.New("gofacedlib: engine is closed")

var _ recognizer.Engine = (*Engine)(nil)

// New verifies the model files (size and sha256), links them into a private temporary directory under the
// names go-face requires, and loads them. A missing file gives an error
// wrapping fs.ErrNotExist that names the file and how to install it.
func New(opts Options) (*Engine, error) {
	if opts.ModelsDir == "" {
		return nil, fmt.Errorf("gofacedlib: Options.ModelsDir is empty")
	}
	if opts.ShapePredictor68 == "" {
		opts.ShapePredictor68 = DefaultShapePredictor68
	}
	if opts.CropMargin == 0 {
		opts.CropMargin = DefaultCropMargin
	}
	if opts.MaxCropSide == 0 {
		opts.MaxCropSide = DefaultMaxCropSide
	}
	if opts.MinFaceSide == 0 {
		opts.MinFaceSide = DefaultMinFaceSide
	}
	switch {
	case opts.Detector != HOG && opts.Detector != CNN:
		return nil, fmt.Errorf("gofacedlib: unknown detector %d", opts.Detector)
	case !(opts.CropMargin > 0 && opts.CropMargin <= 4):
		return nil, fmt.Errorf("gofacedlib: crop margin %v outside (0, 4]", opts.CropMargin)
	case opts.MaxCropSide < 100:
		return nil, fmt.Errorf("gofacedlib: max crop side %d below 100 px", opts.MaxCropSide)
	case opts.MinFaceSide < 1 || opts.MinFaceSide > opts.MaxCropSide:
		return nil, fmt.Errorf("gofacedlib: min face side %d outside [1, %d]", opts.MinFaceSide, opts.MaxCropSide)
	}
	dir, err := linkModels(opts.ModelsDir, opts.ShapePredictor68)
	if err != nil {
		return nil, err
	}
	rec, err := face.NewRecognizer(dir)
	// go-face reads all three files in NewRecognizer, so the links are not
	// needed afterwards; removing them now means a process killed later
	// leaves nothing behind in the temporary directory.
	if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
		rec.Close()
		return nil, fmt.Errorf("gofacedlib: removing %s: %w", dir, rmErr)
	}
	if err != nil {
		return nil, fmt.Errorf("gofacedlib: loading dlib models: %w", err)
	}
	return &Engine{opts: opts, rec: rec, seed: maphash.MakeSeed()}, nil
}

// Name implements recognizer.Engine.
func (e *Engine) Name() string { return EngineName }

// Model implements recognizer.Embedder.
func (e *Engine) Model() recognizer.ModelID { return ModelID }

// Dim implements recognizer.Embedder.
func (e *Engine) Dim() int { return Dim }

// Close frees dlib's models. Later calls return ErrClosed; closing twice
// is harmless.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rec == nil {
		return nil
	}
	e.rec.Close()
	e.rec = nil
	e.last = detectCache{}
	return nil
}

func checkImage(img *recognizer.Image) error {
	if err := img.Validate(); err != nil {
		return fmt.Errorf("gofacedlib: %w", err)
	}
	if img.W > maxJPEGSide || img.H > maxJPEGSide {
		return fmt.Errorf("gofacedlib: image %dx%d exceeds the JPEG limit of %d px a side", img.W, img.H, maxJPEGSide)
	}
	return nil
}

// Detect finds faces with dlib's detector and locates them with the
// 68-point shape predictor, reduced to recognizer's five points: the mean of
// each eye's six contour points (36-41 on the left of the image, 42-47 on
// the right), the nose tip (30) and the mouth corners (48, 54).
//
// Box is dlib's detection rectangle, which is tighter than YuNet's (from
// the brows to the chin, without the forehead). dlib reports no confidence,
// so Score is 1 for every face. Faces come sorted left to right.
func (e *Engine) Detect(img *recognizer.Image) ([]recognizer.Face, error) {
	if err := checkImage(img); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rec == nil {
		return nil, ErrClosed
	}
	e.last = detectCache{}
	data, err := e.enc.whole(img)
	if err != nil {
		return nil, fmt.Errorf("gofacedlib: encoding JPEG: %w", err)
	}
	found, err := e.recognize(data)
	if err != nil {
		return nil, err
	}
	faces := make([]recognizer.Face, 0, len(found))
	vecs := make([][]float32, 0, len(found))
	for i := range found {
		f, err := toFace(&found[i])
		if err != nil {
			return nil, err
		}
		f.Quality = recognizer.AssessQuality(f, recognizer.BoxSharpness(img, f.Box, sharpnessSide), recognizer.DefaultMatchPolicy)
		faces = append(faces, f)
		vecs = append(vecs, unit(found[i].Descriptor))
	}
	e.last = detectCache{valid: true, w: img.W, h: img.H, sum: maphash.Bytes(e.seed, img.Pix),
		faces: append([]recognizer.Face(nil), faces...), vecs: vecs}
	return faces, nil
}

// Recognize is Detect and Embed in one dlib pass: dlib computes every
// face's descriptor as it finds the face, so the frame is encoded and run
// once, and no later Embed has to recognise it as the same frame. Faces
// want refuses get a nil Vec.
func (e *Engine) Recognize(img *recognizer.Image, want func(recognizer.Face) bool) ([]recognizer.Face, []recognizer.Embedding, error) {
	faces, err := e.Detect(img)
	if err != nil || len(faces) == 0 {
		return faces, nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	embs := make([]recognizer.Embedding, len(faces))
	for i, f := range faces {
		embs[i].Model = ModelID
		if want == nil || want(f) {
			embs[i].Vec = append([]float32(nil), e.last.vecs[i]...)
		}
	}
	return faces, embs, nil
}

func (e *Engine) recognize(jpg []byte) ([]face.Face, error) {
	var (
		found []face.Face
		err   error
	)
	if e.opts.Detector == CNN {
		found, err = e.rec.RecognizeCNN(jpg)
	} else {
		found, err = e.rec.Recognize(jpg)
	}
	if err != nil {
		return nil, fmt.Errorf("gofacedlib: dlib: %w", err)
	}
	return found, nil
}

// sharpnessSide is the size of the square a face's box is resampled to
// for its sharpness, that of the OpenCV engine's quality chip, so that
// the usability gate's blur limit means the same for both engines.
const sharpnessSide = 112

// toFace converts a go-face result. dlib rectangles include their right and
// bottom pixels, hence the +1 in the size.
func toFace(f *face.Face) (recognizer.Face, error) {
	if len(f.Shapes) != 68 {
		return recognizer.Face{}, fmt.Errorf("gofacedlib: shape predictor gave %d landmarks, want 68 (is %s the 68-point model?)",
			len(f.Shapes), shape5Name)
	}
	r := f.Rectangle
	out := recognizer.Face{
		Box: recognizer.Rect{X: float32(r.Min.X), Y: float32(r.Min.Y),
			W: float32(r.Dx() + 1), H: float32(r.Dy() + 1)},
		Score: 1,
	}
	mean := func(from, to int) recognizer.Point {
		var x, y int
		for _, p := range f.Shapes[from : to+1] {
			x += p.X
			y += p.Y
		}
		n := float32(to - from + 1)
		return recognizer.Point{X: float32(x) / n, Y: float32(y) / n}
	}
	at := func(i int) recognizer.Point {
		return recognizer.Point{X: float32(f.Shapes[i].X), Y: float32(f.Shapes[i].Y)}
	}
	out.Landmarks[recognizer.LeftEye] = mean(36, 41)
	out.Landmarks[recognizer.RightEye] = mean(42, 47)
	out.Landmarks[recognizer.Nose] = at(30)
	out.Landmarks[recognizer.LeftMouth] = at(48)
	out.Landmarks[recognizer.RightMouth] = at(54)
	return out, nil
}

// unit returns the descriptor scaled to unit length, as recognizer
// embeddings are compared by dot product.
func unit(d face.Descriptor) []float32 {
	v := make([]float32, Dim)
	copy(v, d[:])
	recognizer.Normalize(v)
	return v
}

// Embed returns one embedding per face, in order. Faces may come from any
// detector: Embed cuts a crop around each box (Options.CropMargin of
// context, scaled so the face is between MinFaceSide and about MaxCropSide
// pixels), lets dlib find the face in it again, aligns it with the 68-point
// model and computes the descriptor. Because dlib aligns with its own
// landmarks, the input landmarks are not used.
//
// When dlib finds no face in the crop that matches the box, the face's
// Embedding has a nil Vec: nil Vec means "could not embed", and the caller
// should treat the face as unusable rather than fail the frame.
//
// Faces that the latest Detect returned for the same pixels reuse the
// descriptor dlib computed then, so Detect followed by Embed runs dlib once.
// Faces match on Box and Landmarks; Quality may have been filled in between.
func (e *Engine) Embed(img *recognizer.Image, faces []recognizer.Face) ([]recognizer.Embedding, error) {
	if err := checkImage(img); err != nil {
		return nil, err
	}
	for i, f := range faces {
		if err := checkBox(f.Box, img); err != nil {
			return nil, fmt.Errorf("gofacedlib: face %d: %w", i, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rec == nil {
		return nil, ErrClosed
	}
	out := make([]recognizer.Embedding, len(faces))
	cacheChecked, cacheOK := false, false
	for i, f := range faces {
		out[i].Model = ModelID
		if j := e.last.find(f); j >= 0 {
			if !cacheChecked {
				cacheChecked = true
				cacheOK = e.last.w == img.W && e.last.h == img.H && e.last.sum == maphash.Bytes(e.seed, img.Pix)
			}
			if cacheOK {
				out[i].Vec = append([]float32(nil), e.last.vecs[j]...)
				continue
			}
		}
		d, err := e.embedCrop(img, f.Box)
		if err != nil {
			return nil, fmt.Errorf("gofacedlib: face %d: %w", i, err)
		}
		if d != nil {
			out[i].Vec = unit(*d)
		}
	}
	return out, nil
}

func (c *detectCache) find(f recognizer.Face) int {
	if !c.valid {
		return -1
	}
	for j, g := range c.faces {
		if g.Box == f.Box && g.Landmarks == f.Landmarks {
			return j
		}
	}
	return -1
}

func checkBox(b recognizer.Rect, img *recognizer.Image) error {
	for _, v := range []float32{b.X, b.Y, b.W, b.H} {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("box %+v is not finite", b)
		}
	}
	if b.W < 1 || b.H < 1 {
		return fmt.Errorf("box %+v is smaller than a pixel", b)
	}
	if b.X >= float32(img.W) || b.Y >= float32(img.H) || b.X+b.W <= 0 || b.Y+b.H <= 0 {
		return fmt.Errorf("box %+v lies outside the %dx%d image", b, img.W, img.H)
	}
	return nil
}

// embedCrop runs dlib on a crop around box and returns the raw descriptor
// of the face it finds there, or nil when none matches the box.
func (e *Engine) embedCrop(img *recognizer.Image, box recognizer.Rect) (*face.Descriptor, error) {
	m := e.opts.CropMargin
	x0 := max(0, int(math.Floor(float64(box.X-m*box.W))))
	y0 := max(0, int(math.Floor(float64(box.Y-m*box.H))))
	x1 := min(img.W, int(math.Ceil(float64(box.X+box.W+m*box.W))))
	y1 := min(img.H, int(math.Ceil(float64(box.Y+box.H+m*box.H))))
	cw, ch := x1-x0, y1-y0

	// Enlarge a face smaller than MinFaceSide (HOG's window is 80 px), but
	// never let the crop outgrow MaxCropSide, which also shrinks big faces.
	s := min(max(1, float64(e.opts.MinFaceSide)/float64(max(box.W, box.H))), maxUpscale)
	s = min(s, float64(e.opts.MaxCropSide)/float64(max(cw, ch)))
	w := max(1, int(math.Round(float64(cw)*s)))
	h := max(1, int(math.Round(float64(ch)*s)))
	// The scale actually applied on each axis after rounding.
	sx, sy := float64(w)/float64(cw), float64(h)/float64(ch)

	data, err := e.enc.crop(img, x0, y0, x1, y1, w, h)
	if err != nil {
		return nil, fmt.Errorf("encoding JPEG: %w", err)
	}
	found, err := e.recognize(data)
	if err != nil {
		return nil, err
	}
	want := recognizer.Rect{
		X: float32((float64(box.X) - float64(x0)) * sx),
		Y: float32((float64(box.Y) - float64(y0)) * sy),
		W: float32(float64(box.W) * sx),
		H: float32(float64(box.H) * sy),
	}
	best := pick(found, want)
	if best < 0 {
		return nil, nil
	}
	return &found[best].Descriptor, nil
}

// pick chooses the detection that is the face the caller meant: its centre
// must lie within half a box side of the requested box's centre and its
// size within a factor of two or so (detectors disagree about how much
// forehead and chin a box holds, not about where the face is). A margin
// crop can hold neighbours in a crowd; they fail this test. Returns -1 when
// nothing qualifies.
func pick(found []face.Face, want recognizer.Rect) int {
	wc := want.Center()
	side := float64(max(want.W, want.H))
	best, bestD := -1, math.Inf(1)
	for i := range found {
		r := found[i].Rectangle
		fs := float64(max(r.Dx(), r.Dy()) + 1)
		if fs < side/2.5 || fs > side*2 {
			continue
		}
		cx := float64(r.Min.X+r.Max.X) / 2
		cy := float64(r.Min.Y+r.Max.Y) / 2
		d := math.Hypot(cx-float64(wc.X), cy-float64(wc.Y))
		if d <= side/2 && d < bestD {
			best, bestD = i, d
		}
	}
	return best
}
