package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/stats"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/eval"
	"github.com/dozor-edge/dozor/recognizer/gallery"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

// Config says what Run measures.
type Config struct {
	// Models is a verified models directory.
	Models string
	// Engine names an OpenCV engine (engines.Fused, FacePlugin or
	// DlibONNX).
	Engine string
	// Image is the path of a photo with at least one face, decoded as
	// any still photo is (at most engines.StillMaxSide on a side).
	Image string
	// Iterations is the number of timed calls per stage; the median is
	// reported.
	Iterations int
	// Templates are the gallery sizes of the match stages. The whole
	// pipeline matches in the gallery of 10000 when there is one, else in
	// the first.
	Templates []int
	// Progress, when set, hears the name of each pass as it ends
	// ("1-thread", "all-cores").
	Progress func(pass string)
}

// Stage is one timed stage: the median milliseconds per call.
type Stage struct {
	Stage string  `json:"stage"`
	MS1   float64 `json:"ms_1_thread"`
	MSAll float64 `json:"ms_all_cores"`
	Note  string  `json:"note,omitempty"`
}

// Report is what Run measured. The pairs are for one thread and for all
// cores, in that order.
type Report struct {
	Image       string     `json:"image"`
	Width       int        `json:"width"`
	Height      int        `json:"height"`
	Engine      string     `json:"engine"`
	Cores       int        `json:"cores"`
	Stages      []Stage    `json:"stages"`
	Faces       int        `json:"faces_in_image"`
	MSPerFace   [2]float64 `json:"pipeline_ms_per_face_1_thread_all_cores"`
	FacesPerSec [2]float64 `json:"faces_per_sec_1_thread_all_cores"`
	Ratio       [2]float64 `json:"pipeline_over_forward_1_thread_all_cores"`
}

// Run times each recognition stage on cfg.Image, first with one OpenCV
// thread and then with all cores, and the whole pipeline's throughput with
// one worker and with one worker per core. It leaves OpenCV on all cores.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Iterations < 1 {
		return Report{}, errors.New("bench: at least one timed call per stage is needed")
	}
	if len(cfg.Templates) == 0 {
		return Report{}, errors.New("bench: no gallery size to match in")
	}
	data, err := os.ReadFile(cfg.Image)
	if err != nil {
		return Report{}, fmt.Errorf("bench image: %w", err)
	}
	ocfg, err := engines.OpenCVConfig(cfg.Models, cfg.Engine, opencv.DefaultDetectorConfig)
	if err != nil {
		return Report{}, err
	}
	newEngine := func() (*opencv.Engine, error) { return opencv.New(ocfg) }
	e, err := newEngine()
	if err != nil {
		return Report{}, err
	}
	defer e.Close()
	decode := func() (*recognizer.Image, error) { return opencv.DecodeImage(data, engines.StillMaxSide) }
	img, err := decode()
	if err != nil {
		return Report{}, err
	}
	faces, err := e.Detect(img)
	if err != nil {
		return Report{}, err
	}
	if len(faces) == 0 {
		return Report{}, fmt.Errorf("%s: no face found; the bench needs a photo with a face", cfg.Image)
	}
	main := eval.MainFace(faces, img.W, img.H)
	face := faces[main : main+1]
	embs, err := e.Embed(img, face)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Image: cfg.Image, Width: img.W, Height: img.H, Engine: string(e.Model()), Cores: runtime.NumCPU()}
	galleries := make([]*gallery.Snapshot, len(cfg.Templates))
	for i, n := range cfg.Templates {
		if galleries[i], err = randomGallery(e.Model(), e.Dim(), n); err != nil {
			return Report{}, err
		}
	}
	mid := galleries[0]
	for i, n := range cfg.Templates {
		if n == 10000 {
			mid = galleries[i]
		}
	}
	type stage struct {
		name string
		run  func() error
		all  func() error // all-cores variant when it differs
	}
	match := func(g *gallery.Snapshot) func() error {
		return func() error { _, err := g.Search(embs[0], 5); return err }
	}
	matchAll := func(g *gallery.Snapshot) func() error {
		return func() error { _, err := g.SearchBatch(embs[:1], 5, runtime.NumCPU()); return err }
	}
	pipeline := func() error {
		im, err := decode()
		if err != nil {
			return err
		}
		fs, es, err := e.Recognize(im, nil)
		if err != nil || len(fs) == 0 {
			return fmt.Errorf("pipeline: %d faces, %v", len(fs), err)
		}
		for _, emb := range es {
			if _, err := mid.Search(emb, 5); err != nil {
				return err
			}
		}
		return nil
	}
	// The floor: one detector pass on the frame and one embedder pass per
	// face the pipeline embeds.
	forward := func() error {
		if err := e.DetectorForward(img.W, img.H); err != nil {
			return err
		}
		for range faces {
			if err := e.EmbedderForward(); err != nil {
				return err
			}
		}
		return nil
	}
	stages := []stage{
		{name: "decode JPEG", run: func() error { _, err := decode(); return err }},
		{name: "detect (YuNet + decode + NMS + quality)", run: func() error { _, err := e.Detect(img); return err }},
		{name: "align (chips for every embedder)", run: func() error { return e.AlignOnly(img, face) }},
		{name: "embed (align + forward, mirrored chip included)", run: func() error { _, err := e.Embed(img, face); return err }},
	}
	for i, n := range cfg.Templates {
		stages = append(stages, stage{name: fmt.Sprintf("match top-5 in %d templates", n), run: match(galleries[i]), all: matchAll(galleries[i])})
	}
	stages = append(stages,
		stage{name: fmt.Sprintf("bare forward passes (detector + embedders x %d faces)", len(faces)), run: forward},
		stage{name: fmt.Sprintf("whole pipeline, decode..match 10k (%d faces)", len(faces)), run: pipeline})
	results := make([]Stage, len(stages))
	defer opencv.SetNumThreads(0)
	for pass, threads := range []int{1, 0} {
		opencv.SetNumThreads(threads)
		for i, s := range stages {
			if ctx.Err() != nil {
				return Report{}, ctx.Err()
			}
			run := s.run
			if pass == 1 && s.all != nil {
				run = s.all
			}
			ms, err := medianMS(run, cfg.Iterations)
			if err != nil {
				return Report{}, fmt.Errorf("%s: %w", s.name, err)
			}
			results[i].Stage = s.name
			if pass == 0 {
				results[i].MS1 = ms
			} else {
				results[i].MSAll = ms
			}
		}
		if cfg.Progress != nil {
			cfg.Progress([]string{"1-thread", "all-cores"}[pass])
		}
	}
	rep.Stages = results
	pipe, fwd := results[len(results)-1], results[len(results)-2]
	rep.Ratio = [2]float64{pipe.MS1 / fwd.MS1, pipe.MSAll / fwd.MSAll}
	rep.Faces = len(faces)
	rep.MSPerFace = [2]float64{pipe.MS1 / float64(len(faces)), pipe.MSAll / float64(len(faces))}
	// Throughput: one worker with one OpenCV thread, then one worker per
	// core, each with its own engine: how a busy box actually runs.
	for i, workers := range []int{1, runtime.NumCPU()} {
		if rep.FacesPerSec[i], err = throughput(ctx, newEngine, decode, mid, workers, cfg.Iterations); err != nil {
			return Report{}, err
		}
	}
	return rep, nil
}

// medianMS calls f n times after a warm-up and returns the median
// milliseconds per call.
func medianMS(f func() error, n int) (float64, error) {
	for range 2 { // warm-up: first calls allocate and tune
		if err := f(); err != nil {
			return 0, err
		}
	}
	ds := make([]float64, n)
	for i := range ds {
		t := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ds[i] = float64(time.Since(t).Microseconds()) / 1000
	}
	return stats.Percentile(ds, 0.5), nil
}

// throughput runs workers goroutines, each with its own single-threaded
// engine, through the whole per-face pipeline and returns faces per second.
func throughput(ctx context.Context, newEngine func() (*opencv.Engine, error), decode func() (*recognizer.Image, error),
	g *gallery.Snapshot, workers, perWorker int) (float64, error) {
	opencv.SetNumThreads(1)
	defer opencv.SetNumThreads(0)
	es := make([]*opencv.Engine, workers)
	for i := range es {
		e, err := newEngine()
		if err != nil {
			return 0, err
		}
		defer e.Close()
		es[i] = e
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	counts := make([]int, workers)
	start := time.Now()
	for w := range es {
		wg.Go(func() {
			for i := 0; i < perWorker && ctx.Err() == nil; i++ {
				im, err := decode()
				if err != nil {
					errs[w] = err
					return
				}
				_, embs, err := es[w].Recognize(im, nil)
				for j := 0; err == nil && j < len(embs); j++ {
					_, err = g.Search(embs[j], 5)
				}
				counts[w] += len(embs)
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	return float64(total) / time.Since(start).Seconds(), ctx.Err()
}

// randomGallery fills a gallery with random unit vectors: search cost does
// not depend on what the vectors mean.
func randomGallery(model recognizer.ModelID, dim, n int) (*gallery.Snapshot, error) {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	ts := make([]gallery.Template, n)
	for i := range ts {
		ts[i] = gallery.Template{PersonID: fmt.Sprintf("p%06d", i/2), TemplateID: fmt.Sprintf("t%07d", i),
			Vec: recognizer.RandomUnit(r, dim)}
	}
	return gallery.New(model, dim, ts, gallery.Options{})
}
