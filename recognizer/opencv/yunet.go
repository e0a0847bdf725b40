package opencv

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"

	"gocv.io/x/gocv"

	"github.com/dozor-edge/dozor/recognizer"
)

// DetectorConfig tunes YuNet.
type DetectorConfig struct {
	// MaxSide is the detection resolution: frames whose longest side is
	// larger are shrunk to it before the network runs. Smaller is faster;
	// faces below about 10 px at this resolution are lost, so cameras with
	// small faces want a larger value.
	MaxSide int
	// ScoreThreshold keeps detections at or above it (YuNet's own default 0.6).
	ScoreThreshold float32
	// NMSThreshold is the IoU above which the weaker of two boxes is dropped.
	NMSThreshold float32
	// TopK caps candidates before NMS so a noisy frame cannot make NMS quadratic.
	TopK int
	// RetryUpscale runs a second pass at twice the resolution and a lower
	// threshold when the first finds nothing. For still photos (enrolment,
	// evaluation), where a missed face costs more than 20 ms.
	RetryUpscale bool
}

// DefaultDetectorConfig suits 640x360 to 1080p camera frames.
var DefaultDetectorConfig = DetectorConfig{MaxSide: 640, ScoreThreshold: 0.6, NMSThreshold: 0.3, TopK: 5000}

var yunetOutputs = []string{"cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32", "bbox_8", "bbox_16", "bbox_32", "kps_8", "kps_16", "kps_32"}

// yunet owns the network; not safe for concurrent use.
type yunet struct {
	net gocv.Net
	cfg DetectorConfig
}

func newYuNet(path string, cfg DetectorConfig) (*yunet, error) {
	if cfg.MaxSide <= 0 {
		cfg.MaxSide = DefaultDetectorConfig.MaxSide
	}
	if cfg.MaxSide%32 != 0 {
		cfg.MaxSide = (cfg.MaxSide + 31) / 32 * 32
	}
	if cfg.ScoreThreshold <= 0 || cfg.ScoreThreshold >= 1 {
		cfg.ScoreThreshold = DefaultDetectorConfig.ScoreThreshold
	}
	if cfg.NMSThreshold <= 0 || cfg.NMSThreshold >= 1 {
		cfg.NMSThreshold = DefaultDetectorConfig.NMSThreshold
	}
	if cfg.TopK <= 0 {
		cfg.TopK = DefaultDetectorConfig.TopK
	}
	net := gocv.ReadNetFromONNX(path)
	if net.Empty() {
		return nil, fmt.Errorf("yunet: cannot load %s", path)
	}
	return &yunet{net: net, cfg: cfg}, nil
}

func (y *yunet) Close() error { return y.net.Close() }

// detect finds faces in a BGR Mat, in its own pixel coordinates.
func (y *yunet) detect(img gocv.Mat) ([]recognizer.Face, error) {
	faces, err := y.detectAt(img, y.cfg.MaxSide, y.cfg.ScoreThreshold)
	if err != nil || len(faces) > 0 || !y.cfg.RetryUpscale {
		return faces, err
	}
	return y.detectAt(img, 2*y.cfg.MaxSide, min(y.cfg.ScoreThreshold, 0.3)+0.0)
}

func (y *yunet) detectAt(img gocv.Mat, maxSide int, thr float32) ([]recognizer.Face, error) {
	w, h := img.Cols(), img.Rows()
	if w < 2 || h < 2 {
		return nil, fmt.Errorf("yunet: image %dx%d too small", w, h)
	}
	scale := float64(maxSide) / float64(max(w, h))
	if scale > 1 && maxSide <= y.cfg.MaxSide {
		// Small stills are not blown up on the first pass: that only
		// invents detail. The retry pass may upscale.
		scale = 1
	}
	scale = min(scale, 4)
	sw, sh := max(1, int(math.Round(float64(w)*scale))), max(1, int(math.Round(float64(h)*scale)))
	src := img
	if sw != w || sh != h {
		resized := gocv.NewMat()
		defer resized.Close()
		interp := gocv.InterpolationArea
		if scale > 1 {
			interp = gocv.InterpolationLinear
		}
		gocv.Resize(img, &resized, image.Pt(sw, sh), 0, 0, interp)
		src = resized
	}
	pw, ph := (sw+31)/32*32, (sh+31)/32*32
	padded := gocv.NewMat()
	defer padded.Close()
	gocv.CopyMakeBorder(src, &padded, 0, ph-sh, 0, pw-sw, gocv.BorderConstant, color.RGBA{})
	blob := gocv.BlobFromImage(padded, 1, image.Pt(pw, ph), gocv.NewScalar(0, 0, 0, 0), false, false)
	defer blob.Close()
	y.net.SetInput(blob, "")
	outs := y.net.ForwardLayers(yunetOutputs)
	defer func() {
		for i := range outs {
			outs[i].Close()
		}
	}()
	if len(outs) != len(yunetOutputs) {
		return nil, fmt.Errorf("yunet: network returned %d outputs, want %d", len(outs), len(yunetOutputs))
	}
	data := make([][]float32, len(outs))
	for i := range outs {
		d, err := outs[i].DataPtrFloat32()
		if err != nil {
			return nil, fmt.Errorf("yunet: output %s: %w", yunetOutputs[i], err)
		}
		data[i] = d
	}
	cands, err := decodeYuNet(data, pw, ph, thr)
	if err != nil {
		return nil, err
	}
	faces := nms(cands, y.cfg.NMSThreshold, y.cfg.TopK)
	inv := float32(1 / scale)
	for i := range faces {
		f := &faces[i]
		f.Box = recognizer.Rect{X: f.Box.X * inv, Y: f.Box.Y * inv, W: f.Box.W * inv, H: f.Box.H * inv}
		for j := range f.Landmarks {
			f.Landmarks[j].X *= inv
			f.Landmarks[j].Y *= inv
		}
	}
	return faces, nil
}

// decodeYuNet turns the 12 raw output tensors (cls, obj, bbox, kps for
// strides 8, 16, 32) of a pw x ph input into candidate faces. Lengths are
// checked so a model with other outputs is an error, not a wild read.
func decodeYuNet(out [][]float32, pw, ph int, thr float32) ([]recognizer.Face, error) {
	var faces []recognizer.Face
	for si, s := range []int{8, 16, 32} {
		cols, rows := pw/s, ph/s
		n := cols * rows
		cls, obj, box, kps := out[si], out[3+si], out[6+si], out[9+si]
		if len(cls) != n || len(obj) != n || len(box) != 4*n || len(kps) != 10*n {
			return nil, fmt.Errorf("yunet: stride %d outputs have lengths %d/%d/%d/%d, want %d/%d/%d/%d",
				s, len(cls), len(obj), len(box), len(kps), n, n, 4*n, 10*n)
		}
		fs := float32(s)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				i := r*cols + c
				score := float32(math.Sqrt(float64(clamp01(cls[i]) * clamp01(obj[i]))))
				if score < thr {
					continue
				}
				b := box[4*i : 4*i+4]
				cx, cy := (float32(c)+b[0])*fs, (float32(r)+b[1])*fs
				bw, bh := float32(math.Exp(float64(b[2])))*fs, float32(math.Exp(float64(b[3])))*fs
				f := recognizer.Face{Box: recognizer.Rect{X: cx - bw/2, Y: cy - bh/2, W: bw, H: bh}, Score: score}
				k := kps[10*i : 10*i+10]
				for n := 0; n < 5; n++ {
					f.Landmarks[n] = recognizer.Point{X: (k[2*n] + float32(c)) * fs, Y: (k[2*n+1] + float32(r)) * fs}
				}
				if finite(f) {
					faces = append(faces, f)
				}
			}
		}
	}
	return faces, nil
}

// nms keeps the best-scoring face of each overlapping group.
func nms(faces []recognizer.Face, iou float32, topK int) []recognizer.Face {
	sort.SliceStable(faces, func(i, j int) bool { return faces[i].Score > faces[j].Score })
	if len(faces) > topK {
		faces = faces[:topK]
	}
	var keep []recognizer.Face
	for _, f := range faces {
		ok := true
		for _, k := range keep {
			if f.Box.IoU(k.Box) > iou {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, f)
		}
	}
	return keep
}

func clamp01(x float32) float32 { return max(0, min(1, x)) }

func finite(f recognizer.Face) bool {
	ok := func(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
	if !ok(f.Box.X) || !ok(f.Box.Y) || !ok(f.Box.W) || !ok(f.Box.H) {
		return false
	}
	for _, p := range f.Landmarks {
		if !ok(p.X) || !ok(p.Y) {
			return false
		}
	}
	return true
}
