package hwtest

import (
	"fmt"
	"strings"
	"time"
)

// StageCosts are the cores a load asks of the box, stage by stage. The
// capacity verdict and `edgectl bench-capacity` both count in them, so an
// estimate from hwtest and a measurement of the running daemon compare
// stage for stage.
type StageCosts struct {
	Decode float64 `json:"decode_cores"` // every picture every stream needs decoded
	Detect float64 `json:"detect_cores"` // every analysed frame
	Embed  float64 `json:"embed_cores"`  // the faces worth identifying
	Match  float64 `json:"match_cores"`  // a gallery search per embedded face
	// Other is what the stages above leave out (RTP, tracking, sightings,
	// the store, the uplink); only a measurement of the daemon knows it.
	Other float64 `json:"other_cores"`
}

// Total is the sum of the stages.
func (s StageCosts) Total() float64 { return s.Decode + s.Detect + s.Embed + s.Match + s.Other }

// Add adds o's stages to s's.
func (s *StageCosts) Add(o StageCosts) {
	s.Decode += o.Decode
	s.Detect += o.Detect
	s.Embed += o.Embed
	s.Match += o.Match
	s.Other += o.Other
}

// StageTimes are one worker's CPU time per call of each stage.
type StageTimes struct {
	DetectFrame time.Duration // per analysed frame
	EmbedFace   time.Duration // per embedded face
	MatchFace   time.Duration // per embedded face
}

// CameraLoad is what one camera asks of the recognizer.
type CameraLoad struct {
	DecodeCores   float64 // decoding its stream, measured
	AnalysedFPS   float64 // frames detected per second
	FacesPerFrame float64 // faces embedded per analysed frame
}

// Cost is the capacity model: a camera costs its decoding, a detection
// per analysed frame and an embedding and a search per face worth
// identifying.
func (l CameraLoad) Cost(t StageTimes) StageCosts {
	faces := l.AnalysedFPS * l.FacesPerFrame
	return StageCosts{
		Decode: l.DecodeCores,
		Detect: l.AnalysedFPS * t.DetectFrame.Seconds(),
		Embed:  faces * t.EmbedFace.Seconds(),
		Match:  faces * t.MatchFace.Seconds(),
	}
}

// LoadVerdict judges cores needed against cores available: PASS up to
// WarnLoad, WARN up to FailLoad, FAIL beyond.
func LoadVerdict(needed, cores float64) Verdict {
	switch load := needed / cores; {
	case cores <= 0 || load > FailLoad:
		return Fail
	case load > WarnLoad:
		return Warn
	}
	return Pass
}

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

// The share of the box's cores a load may take.
const (
	WarnLoad = 0.7 // leaves room for bursts of faces, the web monitor and the store
	FailLoad = 1.0
)

// facesTried is how many faces a frame of cam holds that the daemon would
// try to identify: those whose size in the picture they are cut from
// (detection-frame size times cs) reaches MinInterOcular. The faces the
// report kept stand for all it saw.
func facesTried(cam *CameraReport, cs float64) float64 {
	tried := 0
	for _, f := range cam.Faces {
		if float64(f.IOD)*cs >= MinInterOcular {
			tried++
		}
	}
	return float64(tried) / float64(len(cam.Faces)) * float64(cam.FaceCount) / float64(cam.Sampled)
}

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
	// total is the load as configured; fromFrame the same with faces cut
	// from the detection frame, which differs only with
	// recognizer.chip_max_side.
	var total, fromFrame StageCosts
	times := StageTimes{DetectFrame: sp.DetectFrame, EmbedFace: sp.EmbedFace}
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
		load := CameraLoad{DecodeCores: cam.DecodeCores, AnalysedFPS: fps}
		plain := load
		if cam.Sampled > 0 && len(cam.Faces) > 0 {
			load.FacesPerFrame = facesTried(&cam, cam.sizeScale())
			plain.FacesPerFrame = facesTried(&cam, 1)
		}
		// The gallery search is not timed here: it is a small share of an
		// embedding (edgectl bench-capacity measures it).
		total.Add(load.Cost(times))
		fromFrame.Add(plain.Cost(times))
	}
	if c.Measured == 0 {
		return
	}
	c.DecodeCores, c.DetectCores, c.EmbedCores = total.Decode, total.Detect, total.Embed
	c.Needed = total.Total()
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
	if saved := c.Needed - fromFrame.Total(); saved > 0.005 {
		ways = append([]string{fmt.Sprintf("set recognizer.chip_max_side to 0 where faces are large enough in the detection frame (all cameras at 0: %.2f cores less)", saved)}, ways...)
	}
	ways = append(ways, "move cameras to another box")
	switch ch.Verdict = LoadVerdict(c.Needed, c.Cores); ch.Verdict {
	case Fail:
		ch.Fix = "this box cannot keep up: frames will be dropped and people missed; " + strings.Join(ways, ", ")
	case Warn:
		ch.Fix = "little headroom for crowds, the guard monitor and the store: " + strings.Join(ways, ", ")
	}
	r.add(ch)
}
