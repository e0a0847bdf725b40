package hwtest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/stats"
	"github.com/dozor-edge/dozor/models"
	"github.com/dozor-edge/dozor/recognizer"
)

// ModelsReport is the model files and how fast this box runs them.
type ModelsReport struct {
	Dir    string       `json:"dir"`
	Engine string       `json:"engine"`
	Files  []ModelFile  `json:"files"`
	Speed  *EngineSpeed `json:"speed,omitempty"`
}

// ModelFile is one manifest file as found on disk.
type ModelFile struct {
	Name     string `json:"name"`
	Needed   bool   `json:"needed"` // by the configured engine
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
	Optional bool   `json:"optional"`
}

// EngineSpeed is one worker's speed on this box.
type EngineSpeed struct {
	// FrameW x FrameH is the detection input the daemon would use.
	FrameW, FrameH int           `json:"-"`
	DetectFrame    time.Duration `json:"detect_per_frame_ns"`
	EmbedFace      time.Duration `json:"embed_per_face_ns"`
	// DetectPerSecond is frames per second one worker detects on;
	// EmbedPerSecond faces per second one worker embeds.
	DetectPerSecond float64 `json:"detect_frames_per_s"`
	EmbedPerSecond  float64 `json:"embed_faces_per_s"`
}

// slowDetect is where detection on one frame takes so long that a person
// walking past is seen in too few frames for the tracker to decide.
const slowDetect = 250 * time.Millisecond

// checkModels verifies every manifest file and reports which the
// configured engine needs; a bad needed file fails, a bad optional one
// only warns.
func (t *tester) checkModels(r *Report) bool {
	const sec = "models"
	dir, engine := t.cfg.Models.Dir, t.cfg.Models.Engine
	r.Models.Dir, r.Models.Engine = dir, engine
	needed, err := engines.Files(engine)
	if err != nil {
		r.add(Check{Section: sec, Name: "engine", Verdict: Fail, Value: err.Error(),
			Fix: "set models.engine to default, fused, faceplugin, dlibonnx or gofacedlib"})
		return false
	}
	results, _ := models.Check(dir, models.AllNames()...)
	okNeeded := true
	var bad, badOptional []string
	for _, res := range results {
		f, _ := models.Lookup(res.Name)
		mf := ModelFile{Name: res.Name, Needed: slices.Contains(needed, res.Name), OK: res.Err == nil, Optional: f.Optional}
		if res.Err != nil {
			mf.Error = res.Err.Error()
			if mf.Needed {
				okNeeded = false
				bad = append(bad, mf.Error)
			} else if !f.Optional {
				bad = append(bad, mf.Error)
			} else {
				badOptional = append(badOptional, res.Name)
			}
		}
		r.Models.Files = append(r.Models.Files, mf)
	}
	ch := Check{Section: sec, Name: "files", Verdict: Pass,
		Value: fmt.Sprintf("%d files verified (sha256) in %s for engine %s", len(results)-len(bad)-len(badOptional), dir, engineName(engine))}
	switch {
	case len(bad) > 0:
		ch.Verdict = Fail
		ch.Value = strings.Join(bad, "; ")
		ch.Fix = fmt.Sprintf("reinstall the model files: edgectl models install --to %s (from the installation medium with --from DIR, or --official on a networked machine), then edgectl models verify --dir %s", dir, dir)
	case len(badOptional) > 0:
		ch.Value += fmt.Sprintf("; optional %s not installed", strings.Join(badOptional, ", "))
	}
	r.add(ch)
	return okNeeded
}

func engineName(e string) string {
	if e == "" || e == "default" {
		return "default (" + engines.Default + ")"
	}
	return e
}

// measureEngine times detection on a frame of the daemon's detection size
// and embedding of one face, on one worker. The content of the frame does
// not change the cost of either network, so a synthetic picture stands in
// for a camera and no face image has to ship with the box.
func (t *tester) measureEngine(r *Report, eng recognizer.Engine) {
	const sec = "models"
	w := t.cfg.Models.DetectionSize
	h := (w * 9 / 16) &^ 1
	img := syntheticFrame(w, h)
	face := syntheticFace(w, h)

	detect, err := timeIt(t.opt.SpeedBudget, func() error { _, err := eng.Detect(img); return err })
	if err != nil {
		r.add(Check{Section: sec, Name: "speed", Verdict: Fail, Value: "detection failed: " + err.Error(),
			Fix: "the detector does not run on this box: reinstall the models and the OpenCV runtime libraries"})
		return
	}
	embed, err := timeIt(t.opt.SpeedBudget, func() error { _, err := eng.Embed(img, []recognizer.Face{face}); return err })
	if err != nil {
		r.add(Check{Section: sec, Name: "speed", Verdict: Fail, Value: "embedding failed: " + err.Error(),
			Fix: "the embedder does not run on this box: reinstall the models and the OpenCV runtime libraries"})
		return
	}
	sp := &EngineSpeed{FrameW: w, FrameH: h, DetectFrame: detect, EmbedFace: embed,
		DetectPerSecond: 1 / detect.Seconds(), EmbedPerSecond: 1 / embed.Seconds()}
	r.Models.Speed = sp
	ch := Check{Section: sec, Name: "speed", Verdict: Pass,
		Value: fmt.Sprintf("detect %s per %dx%d frame (%.1f frames/s), embed %s per face (%.1f faces/s), one worker",
			ms(detect), w, h, sp.DetectPerSecond, ms(embed), sp.EmbedPerSecond)}
	if detect > slowDetect {
		ch.Verdict = Warn
		ch.Fix = fmt.Sprintf("detection is slow on this box: lower models.detection_size (now %d) if faces stay large enough, or use a faster box", w)
	}
	r.add(ch)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// timeIt runs f twice to warm up, then until budget is spent (at least 3
// and at most 200 times), and returns the median duration.
func timeIt(budget time.Duration, f func() error) (time.Duration, error) {
	for range 2 {
		if err := f(); err != nil {
			return 0, err
		}
	}
	var ds []time.Duration
	start := time.Now()
	for len(ds) < 3 || (time.Since(start) < budget && len(ds) < 200) {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(t0))
	}
	return stats.Percentile(ds, 0.5), nil
}

// syntheticFrame is a textured BGR picture: smooth gradients with a
// deterministic pattern, so the detector does the work of a real frame.
func syntheticFrame(w, h int) *recognizer.Image {
	img := &recognizer.Image{W: w, H: h, Pix: make([]byte, w*h*3)}
	seed := uint32(2463534242)
	for y := range h {
		for x := range w {
			seed ^= seed << 13
			seed ^= seed >> 17
			seed ^= seed << 5
			i := (y*w + x) * 3
			n := byte(seed & 31)
			img.Pix[i] = byte(x*255/w) + n
			img.Pix[i+1] = byte(y*255/h) + n
			img.Pix[i+2] = byte((x+y)*255/(w+h)) + n
		}
	}
	return img
}

// syntheticFace is a frontal face of 48 px between the eyes in the middle
// of a w x h frame: what the embedder is handed for a well-sized face.
func syntheticFace(w, h int) recognizer.Face {
	cx, cy := float32(w)/2, float32(h)/2
	const iod = 48
	return recognizer.Face{
		Box: recognizer.Rect{X: cx - iod, Y: cy - iod, W: 2 * iod, H: 2.4 * iod},
		Landmarks: [5]recognizer.Point{
			{X: cx - iod/2, Y: cy - iod/4}, {X: cx + iod/2, Y: cy - iod/4},
			{X: cx, Y: cy + iod/4},
			{X: cx - iod/2.5, Y: cy + iod*0.7}, {X: cx + iod/2.5, Y: cy + iod*0.7},
		},
		Score: 0.99,
	}
}
