package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
	"github.com/dozor-edge/dozor/recognizer/opencv"
	"github.com/dozor-edge/dozor/recognizer/track"
)

// DefaultChipsClip is the 1080p clip Chips reads when none is named.
const DefaultChipsClip = "video/pedestrians_arcade_1080p.mp4"

// DefaultChipsGallery are photos of people who are not in DefaultChipsClip:
// enrolled, they must leave every track of the clip unknown.
var DefaultChipsGallery = []string{"video/enroll/lin-manuel-miranda.png", "video/enroll/alex-lacamoire.png", "video/enroll/obama.jpg"}

// ChipsConfig says what Chips measures.
type ChipsConfig struct {
	// Models is a verified models directory.
	Models string
	// Engine names an OpenCV engine (engines.Fused, FacePlugin or
	// DlibONNX).
	Engine string
	// Clip is a video file, read as a camera would stream it.
	Clip string
	// DetectionSize is the longest side of the detection frame
	// (camera.DefaultMaxSide when 0).
	DetectionSize int
	// SampleRate is the pictures per second taken from the clip
	// (camera.DefaultSampleRate when 0).
	SampleRate float64
	// MaxFrames stops after this many sampled pictures (0: the whole clip).
	MaxFrames int
	// Gallery are photos of people enrolled for the identity decisions,
	// one person each, named after the file.
	Gallery []string
}

// ChipsMode is what one way of cutting chips made of the clip.
type ChipsMode struct {
	Mode string `json:"mode"`
	// Faces detected (the same in both modes: detection always runs on
	// the detection frame); Usable those the usability gate accepts, the
	// ones the daemon's worker embeds and the tracker takes as evidence.
	Faces  int `json:"faces"`
	Usable int `json:"usable"`
	// Tracks are the confirmed tracks of this mode's tracker, fed what the
	// worker would feed it; UsablePerTrack their mean number of usable
	// faces.
	Tracks         int     `json:"tracks"`
	UsablePerTrack float64 `json:"usable_per_track"`
	// Agreement is the mean over tracks of the mean cosine between the
	// embeddings of every face of one track, however small; Between the
	// mean cosine between faces of different tracks. Both modes are
	// scored on the same tracks (those of the full-resolution mode) and
	// the same faces, so Agreement - Between compares how well each keeps
	// people apart.
	Agreement float64 `json:"agreement"`
	Between   float64 `json:"between"`
	// SameTrackNearest is the fraction of those faces whose most similar
	// face of another picture belongs to the same track.
	SameTrackNearest float64 `json:"same_track_nearest"`
	// Identity decisions against the gallery: Named tracks were given an
	// identity, Unknown were judged and matched nobody, Unassessed had too
	// few usable faces to judge. NearestScore is the mean over judged
	// tracks of the nearest enrolled person's score.
	Named        int     `json:"named"`
	Unknown      int     `json:"unknown"`
	Unassessed   int     `json:"unassessed"`
	NearestScore float64 `json:"nearest_score"`
	// Cost per sampled picture, as the worker pays it (the faces it
	// embeds): the BGR conversion(s) and Recognize in wall milliseconds,
	// their process CPU milliseconds, and the share of one core they take
	// at the sample rate.
	ConvertMS   float64 `json:"convert_ms"`
	RecognizeMS float64 `json:"recognize_ms"`
	CPUMS       float64 `json:"cpu_ms"`
	CoreShare   float64 `json:"core_share"`
	// AllFacesCPUMS is the CPU per picture when every face is embedded
	// (conversion included): the chips' own cost, whatever their size.
	AllFacesCPUMS float64 `json:"all_faces_cpu_ms"`

	costs        cost
	tracker      *track.Tracker
	usable       map[track.ID]int
	ended        map[track.ID]bool
	judgedTracks int
}

// ChipsReport compares chips cut from the detection frame with chips cut
// from the full-resolution picture, on the same pictures and detections.
type ChipsReport struct {
	Clip          string       `json:"clip"`
	Width         int          `json:"width"`
	Height        int          `json:"height"`
	DetectionW    int          `json:"detection_width"`
	DetectionH    int          `json:"detection_height"`
	Engine        string       `json:"engine"`
	SampleRate    float64      `json:"sample_rate"`
	Frames        int          `json:"frames"`
	Gallery       []string     `json:"gallery"`
	OpenCVThreads int          `json:"opencv_threads"`
	Modes         [2]ChipsMode `json:"modes"`
	// AgreementTracks is how many tracks Agreement is measured on.
	AgreementTracks int `json:"agreement_tracks"`

	faces []faceRecord
}

type cost struct{ convert, recognize, cpu, allCPU time.Duration }

// faceRecord is one face's embedding in each mode and its track in the
// full-resolution mode.
type faceRecord struct {
	frame uint64
	track track.ID
	vec   [2][]float32
}

// Chips runs the clip through detection once per sampled picture and
// embeds the faces twice: from the detection frame (as the daemon did when
// cameras handed off only that) and from the full-resolution picture. Both
// modes run on the same picture one after the other, so their ratio holds
// on a busy machine. OpenCV runs on one thread, as a worker of a loaded box
// does.
func Chips(ctx context.Context, cfg ChipsConfig) (ChipsReport, error) {
	if cfg.DetectionSize == 0 {
		cfg.DetectionSize = camera.DefaultMaxSide
	}
	if cfg.SampleRate == 0 {
		cfg.SampleRate = camera.DefaultSampleRate
	}
	switch {
	case cfg.DetectionSize < 32 || cfg.DetectionSize > camera.MaxPictureSide:
		return ChipsReport{}, fmt.Errorf("bench chips: detection size %d outside [32, %d]", cfg.DetectionSize, camera.MaxPictureSide)
	case !(cfg.SampleRate > 0 && cfg.SampleRate <= 100):
		return ChipsReport{}, fmt.Errorf("bench chips: sample rate %v outside (0, 100]", cfg.SampleRate)
	case cfg.MaxFrames < 0:
		return ChipsReport{}, fmt.Errorf("bench chips: max frames %d is negative", cfg.MaxFrames)
	}
	clip, err := avcodec.ReadClip(cfg.Clip, avcodec.ClipOptions{})
	if err != nil {
		return ChipsReport{}, fmt.Errorf("bench chips: %w", err)
	}
	rep := ChipsReport{Clip: cfg.Clip, Width: clip.Width, Height: clip.Height, SampleRate: cfg.SampleRate, OpenCVThreads: 1}
	rep.DetectionW, rep.DetectionH = camera.OutputSize(clip.Width, clip.Height, cfg.DetectionSize)
	if rep.DetectionW == clip.Width {
		return ChipsReport{}, fmt.Errorf("bench chips: the clip's %dx%d pictures are no larger than the detection size %d: both modes would be the same", clip.Width, clip.Height, cfg.DetectionSize)
	}
	det := opencv.DefaultDetectorConfig
	det.MaxSide = cfg.DetectionSize
	eng, err := engines.NewOpenCV(cfg.Models, cfg.Engine, det)
	if err != nil {
		return ChipsReport{}, err
	}
	defer eng.Close()
	rep.Engine = eng.Name()
	threads := opencv.NumThreads()
	opencv.SetNumThreads(1)
	defer opencv.SetNumThreads(threads)
	snap, err := chipsGallery(eng, cfg.Gallery)
	if err != nil {
		return ChipsReport{}, err
	}
	for _, g := range cfg.Gallery {
		rep.Gallery = append(rep.Gallery, filepath.Base(g))
	}
	dec, err := avcodec.NewDecoder(clip.Codec, avcodec.Options{Threads: 1})
	if err != nil {
		return ChipsReport{}, err
	}
	defer dec.Close()

	ec := config.Defaults().Recognizer
	trCfg := track.Config{Threshold: float32(ec.Threshold), MinMargin: float32(ec.Margin), MinFrames: ec.MinFrames}
	for i, w := range []int{rep.DetectionW, clip.Width} {
		h := rep.DetectionH
		if i == 1 {
			h = clip.Height
		}
		rep.Modes[i] = ChipsMode{Mode: fmt.Sprintf("%dx%d", w, h), tracker: track.New(trCfg),
			usable: map[track.ID]int{}, ended: map[track.ID]bool{}}
	}

	// One goroutine on one thread: process CPU time is then this loop's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	small := recognizer.NewImage(rep.DetectionW, rep.DetectionH)
	full := recognizer.NewImage(clip.Width, clip.Height)
	interval := int64(camera.ClockRate / cfg.SampleRate)
	next, have := int64(0), false
	var last time.Time
	for i := 0; i <= len(clip.Units); i++ {
		if err := ctx.Err(); err != nil {
			return ChipsReport{}, err
		}
		var n int
		var pic camera.Picture
		if i < len(clip.Units) {
			n, pic, err = dec.Decode(clip.Units[i].NALUs, clip.Units[i].PTS)
		} else {
			n, pic, err = dec.Drain()
		}
		if err != nil {
			return ChipsReport{}, fmt.Errorf("bench chips: picture %d: %w", i, err)
		}
		if n == 0 || (have && pic.PTS < next) {
			continue
		}
		have, next = true, pic.PTS+interval
		if pic.W != clip.Width || pic.H != clip.Height {
			return ChipsReport{}, fmt.Errorf("bench chips: picture %d is %dx%d in a %dx%d clip", i, pic.W, pic.H, clip.Width, clip.Height)
		}
		rep.Frames++
		last = time.Unix(0, 0).Add(time.Duration(pic.PTS) * time.Second / camera.ClockRate)
		if err := rep.frame(eng, dec, snap, small, full, uint64(rep.Frames), last); err != nil {
			return ChipsReport{}, err
		}
		if cfg.MaxFrames > 0 && rep.Frames >= cfg.MaxFrames {
			break
		}
	}
	if rep.Frames == 0 {
		return ChipsReport{}, errors.New("bench chips: no picture decoded")
	}
	rep.finish(last.Add(time.Hour))
	return rep, nil
}

// frame converts the decoder's newest picture and runs both modes on it.
func (rep *ChipsReport) frame(eng *opencv.Engine, dec *avcodec.Decoder, snap *gallery.Snapshot,
	small, full *recognizer.Image, seq uint64, at time.Time) error {
	c0, w0 := cpuNow(), time.Now()
	if err := dec.Convert(small.Pix, small.W, small.H); err != nil {
		return err
	}
	c1, w1 := cpuNow(), time.Now()
	if err := dec.Convert(full.Pix, full.W, full.H); err != nil {
		return err
	}
	c2, w2 := cpuNow(), time.Now()
	rep.Modes[0].costs.add(w1.Sub(w0), 0, c1-c0)
	rep.Modes[1].costs.add(w2.Sub(w0), 0, c2-c0)
	rep.Modes[0].costs.allCPU += c1 - c0
	rep.Modes[1].costs.allCPU += c2 - c0

	withFull := &recognizer.Image{W: small.W, H: small.H, Pix: small.Pix, Full: full}
	sx, sy := withFull.FullScale()
	var vecs [2][][]float32
	var ids [2][]track.ID
	for i, img := range []*recognizer.Image{small, withFull} {
		m := &rep.Modes[i]
		// The usability gate, as the daemon's worker runs it: on the face
		// in the pixels its chip is cut from.
		check := func(f recognizer.Face) recognizer.Usability {
			if img.Full != nil {
				f = recognizer.ScaleFace(f, sx, sy)
			}
			return recognizer.DefaultUsablePolicy.Check(f, f.Quality.Sharpness)
		}
		c0, w0 := cpuNow(), time.Now()
		faces, embs, err := eng.Recognize(img, func(f recognizer.Face) bool { return check(f).Usable })
		if err != nil {
			return fmt.Errorf("bench chips: %s chips: %w", m.Mode, err)
		}
		c1 := cpuNow()
		m.costs.add(0, time.Since(w0), c1-c0)
		if i == 1 && len(faces) != len(vecs[0]) {
			return fmt.Errorf("bench chips: frame %d: the modes detected different faces", seq)
		}
		obs := make([]track.Observation, len(faces))
		usable := make([]bool, len(faces))
		var rest []recognizer.Face
		for j, f := range faces {
			m.Faces++
			obs[j] = track.Observation{Frame: seq, Face: f, Usability: check(f)}
			if usable[j] = obs[j].Usability.Usable; usable[j] {
				m.Usable++
			}
			if len(embs[j].Vec) == 0 {
				rest = append(rest, f)
				continue
			}
			obs[j].Embedding = embs[j]
			if snap.Len() > 0 {
				if obs[j].Matches, err = snap.Search(embs[j], 3); err != nil {
					return err
				}
			}
		}
		// Agreement is measured on every face: the ones the worker left
		// out are embedded here, on a clock of their own.
		c2 := cpuNow()
		more, err := eng.Embed(img, rest)
		if err != nil {
			return fmt.Errorf("bench chips: %s chips: %w", m.Mode, err)
		}
		m.costs.allCPU += c1 - c0 + cpuNow() - c2
		vecs[i] = make([][]float32, len(faces))
		for j := range faces {
			if len(embs[j].Vec) > 0 {
				vecs[i][j] = embs[j].Vec
			} else {
				vecs[i][j], more = more[0].Vec, more[1:]
			}
		}
		ids[i] = m.observe(obs, usable, at)
	}
	for j := range vecs[1] {
		rep.faces = append(rep.faces, faceRecord{frame: seq, track: ids[1][j], vec: [2][]float32{vecs[0][j], vecs[1][j]}})
	}
	return nil
}

func (c *cost) add(convert, recognize, cpu time.Duration) {
	c.convert += convert
	c.recognize += recognize
	c.cpu += cpu
}

// observe tracks one frame's faces and returns the track of each (0: none
// yet).
func (m *ChipsMode) observe(obs []track.Observation, usable []bool, at time.Time) []track.ID {
	m.count(m.tracker.Update(at, obs))
	ids := make([]track.ID, len(obs))
	for _, v := range m.tracker.Seen(obs[0].Frame, nil) {
		for i := range obs {
			if ids[i] == 0 && obs[i].Face.Box == v.Box {
				ids[i] = v.Track
				if usable[i] {
					m.usable[v.Track]++
				}
				break
			}
		}
	}
	return ids
}

func (m *ChipsMode) count(events []track.Event) {
	for _, ev := range events {
		if ev.Kind != track.TrackEnded || ev.Summary == nil {
			continue
		}
		s := ev.Summary
		m.Tracks++
		m.ended[ev.Track] = true
		m.UsablePerTrack += float64(m.usable[ev.Track])
		switch s.Outcome {
		case track.Identified:
			m.Named++
		case track.Unknown:
			m.Unknown++
		default:
			m.Unassessed++
		}
		if s.Nearest != "" {
			m.NearestScore += float64(s.NearestScore)
			m.judgedTracks++
		}
	}
}

// finish ends every track and turns sums into means.
func (rep *ChipsReport) finish(end time.Time) {
	n := float64(rep.Frames)
	for i := range rep.Modes {
		m := &rep.Modes[i]
		m.count(m.tracker.EndAll(end))
		if m.Tracks > 0 {
			m.UsablePerTrack /= float64(m.Tracks)
		}
		if m.judgedTracks > 0 {
			m.NearestScore /= float64(m.judgedTracks)
		}
		m.ConvertMS = ms(m.costs.convert) / n
		m.RecognizeMS = ms(m.costs.recognize) / n
		m.CPUMS = ms(m.costs.cpu) / n
		m.CoreShare = m.CPUMS * rep.SampleRate / 1000
		m.AllFacesCPUMS = ms(m.costs.allCPU) / n
	}
	ended := rep.Modes[1].ended
	byTrack := map[track.ID][]int{}
	for i, f := range rep.faces {
		if ended[f.track] {
			byTrack[f.track] = append(byTrack[f.track], i)
		}
	}
	for k := range rep.Modes {
		var within float64
		tracks := 0
		for _, idx := range byTrack {
			var sum float64
			pairs := 0
			for a := range idx {
				for b := a + 1; b < len(idx); b++ {
					sum += float64(recognizer.Dot(rep.faces[idx[a]].vec[k], rep.faces[idx[b]].vec[k]))
					pairs++
				}
			}
			if pairs > 0 {
				within += sum / float64(pairs)
				tracks++
			}
		}
		var between float64
		pairs := 0
		for a := range rep.faces {
			for b := a + 1; b < len(rep.faces); b++ {
				fa, fb := rep.faces[a], rep.faces[b]
				if ended[fa.track] && ended[fb.track] && fa.track != fb.track {
					between += float64(recognizer.Dot(fa.vec[k], fb.vec[k]))
					pairs++
				}
			}
		}
		if tracks > 0 {
			rep.Modes[k].Agreement = within / float64(tracks)
		}
		hits, probes := 0, 0
		for _, fa := range rep.faces {
			if !ended[fa.track] {
				continue
			}
			best, bestSim := -1, float32(-2)
			for b, fb := range rep.faces {
				if fb.frame == fa.frame || !ended[fb.track] {
					continue
				}
				if s := recognizer.Dot(fa.vec[k], fb.vec[k]); s > bestSim {
					best, bestSim = b, s
				}
			}
			if best >= 0 {
				probes++
				if rep.faces[best].track == fa.track {
					hits++
				}
			}
		}
		if probes > 0 {
			rep.Modes[k].SameTrackNearest = float64(hits) / float64(probes)
		}
		if pairs > 0 {
			rep.Modes[k].Between = between / float64(pairs)
		}
		rep.AgreementTracks = tracks
	}
	for i := range rep.Modes {
		rep.Modes[i].tracker, rep.Modes[i].usable, rep.Modes[i].ended = nil, nil, nil
	}
	rep.faces = nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// chipsGallery enrols the largest face of each photo as one person.
func chipsGallery(eng *opencv.Engine, photos []string) (*gallery.Snapshot, error) {
	var ts []gallery.Template
	for _, p := range photos {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("bench chips: gallery: %w", err)
		}
		img, err := opencv.DecodeImage(data, engines.StillMaxSide)
		if err != nil {
			return nil, fmt.Errorf("bench chips: gallery %s: %w", p, err)
		}
		faces, embs, err := eng.Recognize(img, nil)
		if err != nil {
			return nil, fmt.Errorf("bench chips: gallery %s: %w", p, err)
		}
		best := -1
		for i, f := range faces {
			if best < 0 || f.Box.Area() > faces[best].Box.Area() {
				best = i
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("bench chips: gallery %s: no face", p)
		}
		name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		ts = append(ts, gallery.Template{PersonID: name, TemplateID: name, Vec: embs[best].Vec})
	}
	return gallery.New(eng.Model(), eng.Dim(), ts, gallery.Options{})
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
