package hwtest

import (
	"fmt"
	"strings"
)

// CapacityReport estimates the cores the configured load needs on this
// box, from what was measured: each stream's decoding, detection at the
// analysed frame rate, and embedding of the faces large enough to
// identify.
type CapacityReport struct {
	Cores       float64 `json:"cores"`        // available (the container limit when lower)
	DecodeCores float64 `json:"decode_cores"` // all streams
	DetectCores float64 `json:"detect_cores"`
	EmbedCores  float64 `json:"embed_cores"`
	Needed      float64 `json:"needed_cores"`
	Measured    int     `json:"cameras_measured"`
	Unmeasured  int     `json:"cameras_unmeasured"`
}

const (
	warnLoad = 0.7 // leaves room for bursts of faces, the web monitor and the store
	failLoad = 1.0
)

func (t *tester) capacity(r *Report) {
	sp := r.Models.Speed
	if sp == nil || len(r.Cameras) == 0 {
		return
	}
	c := &r.Capacity
	c.Cores = effectiveCores(r.Box.CPU)
	if c.Cores == 0 {
		c.Cores = float64(t.cores)
	}
	for _, cam := range r.Cameras {
		if !cam.Streaming || cam.Seconds == 0 {
			c.Unmeasured++
			continue
		}
		c.Measured++
		fps := t.detectFPS(cam.ID)
		if cam.FPS > 0 {
			fps = min(fps, cam.FPS)
		}
		c.DecodeCores += cam.DecodeCores
		c.DetectCores += fps * sp.DetectFrame.Seconds()
		if cam.Sampled > 0 && len(cam.Faces) > 0 {
			identifiable := 0
			for _, f := range cam.Faces {
				if float64(f.IOD) >= MinInterOcular {
					identifiable++
				}
			}
			// The kept faces stand for all of them.
			perFrame := float64(identifiable) / float64(len(cam.Faces)) * float64(cam.FaceCount) / float64(cam.Sampled)
			c.EmbedCores += fps * perFrame * sp.EmbedFace.Seconds()
		}
	}
	if c.Measured == 0 {
		return
	}
	c.Needed = c.DecodeCores + c.DetectCores + c.EmbedCores
	load := c.Needed / c.Cores
	ch := Check{Section: "capacity", Name: "CPU load", Verdict: Pass,
		Value: fmt.Sprintf("%.2f of %.1f cores (%.0f%%): decode %.2f, detect %.2f, embed %.2f for %d cameras",
			c.Needed, c.Cores, 100*load, c.DecodeCores, c.DetectCores, c.EmbedCores, c.Measured)}
	if c.Unmeasured > 0 {
		ch.Value += fmt.Sprintf(" (%d not streaming, not counted)", c.Unmeasured)
	}
	var ways []string
	if c.DetectCores > c.DecodeCores {
		ways = append(ways, fmt.Sprintf("lower recognizer.detect_fps (now %.0f)", t.cfg.Recognizer.DetectFPS),
			fmt.Sprintf("lower models.detection_size (now %d) where faces stay large enough", t.cfg.Models.DetectionSize))
	} else {
		ways = append(ways, "lower the cameras' resolution or frame rate")
	}
	ways = append(ways, "move cameras to another box")
	switch {
	case load > failLoad:
		ch.Verdict = Fail
		ch.Fix = "this box cannot keep up: frames will be dropped and people missed; " + strings.Join(ways, ", ")
	case load > warnLoad:
		ch.Verdict = Warn
		ch.Fix = "little headroom for crowds, the guard monitor and the store: " + strings.Join(ways, ", ")
	}
	r.add(ch)
}
