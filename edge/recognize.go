package edge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
	"github.com/dozor-edge/dozor/recognizer/track"
)

// searchK is how many persons a face is matched against: at least two, so
// the tracker and the decision see a runner-up and can apply the margin.
const searchK = 3

// minEmbedInterOcular is the face size below which no embedding is made:
// such a face is below what identification needs (the usability gate's
// minimum), so the tracker follows it by its box alone and the worker
// spends its time on faces that can be identified. It is measured where
// the engine cuts its chips (chipInterOcular), and checked before the rest
// of the gate because it costs nothing.
var minEmbedInterOcular = recognizer.DefaultUsablePolicy.MinInterOcular

// frameImage wraps a frame for the engine without copying: the detection
// picture, and the full-resolution one the chips are cut from when the
// camera handed one off.
func frameImage(f *camera.Frame) *recognizer.Image {
	img := &recognizer.Image{W: f.W, H: f.H, Pix: f.Pix}
	if f.FullPix != nil {
		img.Full = &recognizer.Image{W: f.FullW, H: f.FullH, Pix: f.FullPix}
	}
	return img
}

// chipInterOcular is a face's size in the pixels its chip is cut from: the
// engine's quality measure when it made one (the OpenCV engines measure on
// the full-resolution picture), else the detection frame's.
func chipInterOcular(fc recognizer.Face) float32 {
	if q := fc.Quality.InterOcular; q > 0 {
		return q
	}
	return fc.InterOcular()
}

// usability runs the usability gate on a face as its chip sees it: the
// gate's size limits are in the pixels the chip is cut from, so the face
// is scaled to them (the full-resolution picture's when the engine used
// it). Sharpness is the engine's, measured on the aligned chip.
func usability(fc recognizer.Face) recognizer.Usability {
	if io, q := fc.InterOcular(), fc.Quality.InterOcular; io > 0 && q > 0 {
		s := q / io
		fc = recognizer.ScaleFace(fc, s, s)
	}
	return recognizer.DefaultUsablePolicy.Check(fc, fc.Quality.Sharpness)
}

// worker is one recognizer worker: it owns eng, takes the latest frame of
// the waiting camera served longest ago, and hands what it found to the
// sightings loop. It returns when ctx ends, after finishing the frames
// still waiting (the cameras have stopped by then).
func (d *Daemon) worker(ctx context.Context, eng recognizer.Engine, latest *camera.Latest, out chan<- frameResult) error {
	run := func(f *camera.Frame) frameResult {
		release := d.engines.hold(eng)
		defer release()
		return d.recognize(eng, f)
	}
	for {
		f, err := latest.Next(ctx)
		if err != nil {
			for f := latest.TryNext(); f != nil; f = latest.TryNext() {
				out <- run(f)
			}
			return nil
		}
		out <- run(f)
	}
}

// recognize runs detect, embed and match on one frame and releases it.
func (d *Daemon) recognize(eng recognizer.Engine, f *camera.Frame) frameResult {
	defer f.Release()
	d.snaps.offer(f)
	res := frameResult{camera: f.Camera, seq: f.Seq, at: f.Captured, w: f.W, h: f.H}
	if res.at.IsZero() {
		res.at = time.Now()
	}
	d.m.framesProcessed.Inc()
	img := frameImage(f)
	if err := img.Validate(); err != nil {
		d.m.recognizeErrors.Inc()
		d.recErrs.Note(err.Error(), "camera", f.Camera)
		return res
	}
	// One call, so the frame is handed to the engine's library once.
	// Faces too small to identify, and faces the usability gate rejects
	// (the tracker ignores their embeddings), are followed by their box
	// alone: no embedding is spent on them, nor on the faces of a track
	// the embedding budget says is settled. The first want call marks the end of
	// detection, which splits the time between the two stages (an engine
	// that computes descriptors while it detects, as dlib does, reports
	// them as detection).
	//
	// From the second face worth an embedding on, an idle worker's engine
	// is borrowed when there is one, and embeds each face offered while it
	// is free, at the same time as this one embeds the others.
	t0 := time.Now()
	var detected time.Time
	poly := d.region(f.Camera)
	plan := d.embedPlan(f.Camera, res.at)
	var (
		h             *helper
		asked, wanted int
		triedToBorrow bool
	)
	faces, embs, err := eng.Recognize(img, func(fc recognizer.Face) bool {
		i := asked
		asked++
		if detected.IsZero() {
			detected = time.Now()
		}
		if !d.wantEmbedding(fc, poly, f, plan) {
			return false
		}
		wanted++
		if wanted >= 2 && !triedToBorrow {
			triedToBorrow = true
			if other, release := d.engines.borrow(eng); other != nil {
				h = startHelper(other, release, img)
			}
		}
		return h == nil || !h.offer(i, fc)
	})
	if h != nil {
		if embs == nil && err == nil {
			embs = make([]recognizer.Embedding, len(faces))
		}
		for _, herr := range h.wait(embs) {
			err = errors.Join(err, herr)
		}
		d.m.lent.Add(uint64(len(h.embs)))
	}
	end := time.Now()
	if detected.IsZero() {
		detected = end
	}
	d.m.detect.Observe(detected.Sub(t0).Seconds())
	if err != nil {
		// Faces found before an embedding failed are still followed by
		// their boxes, as unidentified.
		d.m.recognizeErrors.Inc()
		d.recErrs.Note(fmt.Sprintf("recognize: %v", err), "camera", f.Camera)
		embs = nil
	}
	if len(faces) == 0 {
		return res
	}
	d.m.embed.Observe(end.Sub(detected).Seconds())
	d.m.faces.Add(uint64(len(faces)))
	if len(embs) != len(faces) {
		embs = make([]recognizer.Embedding, len(faces))
	}
	if poly != nil {
		// Faces outside the camera's region are not in its zone.
		k := 0
		for i := range faces {
			if inRegion(poly, faces[i].Box, f.W, f.H) {
				faces[k], embs[k] = faces[i], embs[i]
				k++
			}
		}
		faces, embs = faces[:k], embs[:k]
	}

	snap := d.holder.Load()
	res.gallery = snap
	res.obs = make([]track.Observation, len(faces))
	for i, fc := range faces {
		var ms []gallery.Match
		if snap != nil && snap.Len() > 0 && len(embs[i].Vec) > 0 {
			t2 := time.Now()
			ms, err = snap.Search(embs[i], searchK)
			d.m.match.ObserveSince(t2)
			if err != nil {
				d.m.recognizeErrors.Inc()
				d.recErrs.Note(fmt.Sprintf("match: %v", err), "camera", f.Camera)
				ms = nil
			}
		}
		res.obs[i] = track.Observation{
			Frame: f.Seq, Face: fc, Usability: usability(fc), Embedding: embs[i], Matches: ms,
			Crop: faceCrop(img, fc.Box),
		}
	}
	return res
}

// wantEmbedding says whether face fc of frame f is worth an embedding:
// large enough, inside the camera's region poly, usable, and wanted by
// the embedding budget. It counts the verdict.
func (d *Daemon) wantEmbedding(fc recognizer.Face, poly []store.Point, f *camera.Frame, plan *embedPlan) bool {
	switch {
	case chipInterOcular(fc) < minEmbedInterOcular:
		d.m.embedSkipped(skipSmall)
	case !inRegion(poly, fc.Box, f.W, f.H):
		d.m.embedSkipped(skipOutside)
	case !usability(fc).Usable:
		d.m.embedSkipped(skipUnusable)
	default:
		ok, why := plan.decide(fc)
		d.m.embedDecided(ok, why)
		return ok
	}
	return false
}

// faceCrop is the tracker's handle on a face's pixels, cut from the
// full-resolution picture when there is one: no image at all when the box
// lies outside the frame (a nil *image.RGBA in an image.Image would not
// compare equal to nil).
func faceCrop(img *recognizer.Image, box recognizer.Rect) track.Crop {
	if img.Full != nil {
		sx, sy := img.FullScale()
		box = recognizer.Rect{X: box.X * sx, Y: box.Y * sy, W: box.W * sx, H: box.H * sy}
		img = img.Full
	}
	if c := cutCrop(img, box); c != nil {
		return track.Crop{Image: c}
	}
	return track.Crop{}
}
