package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

func init() {
	register("bench", "time each recognition stage on this box (1 thread and all cores)", runBench)
}

// benchStage is one timed stage: the median milliseconds per call.
type benchStage struct {
	Stage string  `json:"stage"`
	MS1   float64 `json:"ms_1_thread"`
	MSAll float64 `json:"ms_all_cores"`
	Note  string  `json:"note,omitempty"`
}

type benchReport struct {
	Image       string       `json:"image"`
	Width       int          `json:"width"`
	Height      int          `json:"height"`
	Engine      string       `json:"engine"`
	Cores       int          `json:"cores"`
	Stages      []benchStage `json:"stages"`
	Faces       int          `json:"faces_in_image"`
	MSPerFace   [2]float64   `json:"pipeline_ms_per_face_1_thread_all_cores"`
	FacesPerSec [2]float64   `json:"faces_per_sec_1_thread_all_cores"`
	Ratio       [2]float64   `json:"pipeline_over_forward_1_thread_all_cores"`
}

func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	modelFlag := fs.String("models", "", "models directory")
	imagePath := fs.String("image", "", "a JPEG photo with a face (default: a one-face test photo from ../shared/testdata)")
	engine := fs.String("engine", engines.Default, "engine: "+strings.Join(engines.Names[:3], ", "))
	iters := fs.Int("n", 30, "timed calls per stage (the median is reported)")
	sizes := fs.String("templates", "1000,10000,100000", "gallery sizes for the match stage")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *iters < 1 {
		return errors.New("-n must be at least 1")
	}
	var gsizes []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 2_000_000 {
			return fmt.Errorf("--templates: %q is not a size between 1 and 2000000", s)
		}
		gsizes = append(gsizes, n)
	}
	dir, err := modelDir(*modelFlag)
	if err != nil {
		return err
	}
	if *imagePath == "" {
		*imagePath = defaultBenchImage()
	}
	data, err := os.ReadFile(*imagePath)
	if err != nil {
		return fmt.Errorf("bench image: %w (pass --image)", err)
	}
	cfg, err := engines.OpenCVConfig(dir, *engine, opencv.DefaultDetectorConfig)
	if err != nil {
		return err
	}
	newEngine := func() (*opencv.Engine, error) { return opencv.New(cfg) }
	e, err := newEngine()
	if err != nil {
		return err
	}
	defer e.Close()
	img, err := opencv.DecodeImage(data, stillMaxSide)
	if err != nil {
		return err
	}
	faces, err := e.Detect(img)
	if err != nil {
		return err
	}
	if len(faces) == 0 {
		return fmt.Errorf("%s: no face found; the bench needs a photo with a face", *imagePath)
	}
	main := mainFace(faces, img.W, img.H)
	face := faces[main : main+1]
	embs, err := e.Embed(img, face)
	if err != nil {
		return err
	}
	rep := benchReport{Image: *imagePath, Width: img.W, Height: img.H, Engine: string(e.Model()), Cores: runtime.NumCPU()}
	galleries := make([]*gallery.Snapshot, len(gsizes))
	for i, n := range gsizes {
		if galleries[i], err = randomGallery(e.Model(), e.Dim(), n); err != nil {
			return err
		}
	}
	mid := galleries[0]
	for i, n := range gsizes {
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
		im, err := opencv.DecodeImage(data, stillMaxSide)
		if err != nil {
			return err
		}
		fs, es, err := e.Process(im)
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
		{name: "decode JPEG", run: func() error { _, err := opencv.DecodeImage(data, stillMaxSide); return err }},
		{name: "detect (YuNet + decode + NMS + quality)", run: func() error { _, err := e.Detect(img); return err }},
		{name: "align (chips for every embedder)", run: func() error { return e.AlignOnly(img, face) }},
		{name: "embed (align + forward, mirrored chip included)", run: func() error { _, err := e.Embed(img, face); return err }},
	}
	for i, n := range gsizes {
		stages = append(stages, stage{name: fmt.Sprintf("match top-5 in %d templates", n), run: match(galleries[i]), all: matchAll(galleries[i])})
	}
	stages = append(stages,
		stage{name: fmt.Sprintf("bare forward passes (detector + embedders x %d faces)", len(faces)), run: forward},
		stage{name: fmt.Sprintf("whole pipeline, decode..match 10k (%d faces)", len(faces)), run: pipeline})
	results := make([]benchStage, len(stages))
	for pass, threads := range []int{1, 0} {
		opencv.SetNumThreads(threads)
		for i, s := range stages {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			run := s.run
			if pass == 1 && s.all != nil {
				run = s.all
			}
			ms, err := medianMS(run, *iters)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			results[i].Stage = s.name
			if pass == 0 {
				results[i].MS1 = ms
			} else {
				results[i].MSAll = ms
			}
		}
		fmt.Fprintf(os.Stderr, "bench: %s pass done\n", map[int]string{0: "1-thread", 1: "all-cores"}[pass])
	}
	opencv.SetNumThreads(0)
	rep.Stages = results
	pipe, fwd := results[len(results)-1], results[len(results)-2]
	rep.Ratio = [2]float64{pipe.MS1 / fwd.MS1, pipe.MSAll / fwd.MSAll}
	rep.Faces = len(faces)
	rep.MSPerFace = [2]float64{pipe.MS1 / float64(len(faces)), pipe.MSAll / float64(len(faces))}
	// Throughput: one worker with one OpenCV thread, then one worker per
	// core, each with its own engine: how a busy box actually runs.
	fps1, err := throughput(ctx, newEngine, data, mid, 1, *iters)
	if err != nil {
		return err
	}
	fpsAll, err := throughput(ctx, newEngine, data, mid, runtime.NumCPU(), *iters)
	if err != nil {
		return err
	}
	rep.FacesPerSec = [2]float64{fps1, fpsAll}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Printf("bench: %s (%dx%d), engine %s, %d cores, median of %d calls\n\n", rep.Image, rep.Width, rep.Height, rep.Engine, rep.Cores, *iters)
	fmt.Printf("| stage | ms, 1 thread | ms, all cores |\n|---|---|---|\n")
	for _, s := range rep.Stages {
		fmt.Printf("| %s | %.2f | %.2f |\n", s.Stage, s.MS1, s.MSAll)
	}
	fmt.Printf("\nwhole pipeline per face: %.1f ms (1 thread), %.1f ms (all cores)\n", rep.MSPerFace[0], rep.MSPerFace[1])
	fmt.Printf("faces/s: %.1f with 1 worker x 1 thread, %.1f with %d workers (one engine each)\n", fps1, fpsAll, runtime.NumCPU())
	fmt.Printf("whole pipeline / bare forward passes: %.2f (1 thread), %.2f (all cores)\n", rep.Ratio[0], rep.Ratio[1])
	return nil
}

func medianMS(f func() error, n int) (float64, error) {
	for i := 0; i < 2; i++ { // warm-up: first calls allocate and tune
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
	slices.Sort(ds)
	return ds[n/2], nil
}

// throughput runs workers goroutines, each with its own single-threaded
// engine, through the whole per-face pipeline and returns faces per second.
func throughput(ctx context.Context, newEngine func() (*opencv.Engine, error), data []byte, g *gallery.Snapshot, workers, perWorker int) (float64, error) {
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker && ctx.Err() == nil; i++ {
				im, err := opencv.DecodeImage(data, stillMaxSide)
				if err != nil {
					errs[w] = err
					return
				}
				_, embs, err := es[w].Process(im)
				for j := 0; err == nil && j < len(embs); j++ {
					_, err = g.Search(embs[j], 5)
				}
				counts[w] += len(embs)
				if err != nil {
					errs[w] = err
					return
				}
			}
		}()
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
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		recognizer.Normalize(v)
		ts[i] = gallery.Template{PersonID: fmt.Sprintf("p%06d", i/2), TemplateID: fmt.Sprintf("t%07d", i), Vec: v}
	}
	return gallery.New(model, dim, ts, gallery.Options{})
}

func defaultBenchImage() string {
	// A 1280x853 photo with one face: detection at the default resolution
	// and one embedding, as a camera frame with one person would cost.
	for _, p := range []string{"../shared/testdata/faces/elkie.jpg", "../shared/testdata/lfw-dev/images/George_Clooney/George_Clooney_0001.jpg"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}
