package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

func runFaces(ctx context.Context, args []string) error {
	fs := newFlags("faces", "usage: edgectl faces [flags] IMAGE...")
	modelFlag := fs.String("models", "", "models directory (default: $DOZOR_MODELS, ./var/models, ../shared/models)")
	outDir := fs.String("out", "", "directory for annotated copies (default: beside each image)")
	detSize := fs.Int("det-size", opencv.DefaultDetectorConfig.MaxSide, "detection resolution: longest side in pixels")
	thr := fs.Float64("threshold", float64(opencv.DefaultDetectorConfig.ScoreThreshold), "detector score threshold")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("no images given")
	}
	dir, err := modelDir(*modelFlag)
	if err != nil {
		return err
	}
	det := opencv.DefaultDetectorConfig
	det.MaxSide, det.ScoreThreshold = *detSize, float32(*thr)
	cfg, err := engines.OpenCVConfig(dir, engines.FacePlugin, det)
	if err != nil {
		return err
	}
	e, err := opencv.New(cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	type result struct {
		Image     string            `json:"image"`
		Width     int               `json:"width"`
		Height    int               `json:"height"`
		Faces     []recognizer.Face `json:"faces"`
		Annotated string            `json:"annotated,omitempty"`
		Error     string            `json:"error,omitempty"`
	}
	var results []result
	failed := 0
	for _, path := range fs.Args() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r := result{Image: path}
		img, faces, err := engines.DetectFile(e, path)
		if err != nil {
			r.Error = err.Error()
			failed++
			results = append(results, r)
			continue
		}
		r.Width, r.Height, r.Faces = img.W, img.H, faces
		ann, err := opencv.Annotate(img, faces)
		if err == nil {
			var jpg []byte
			if jpg, err = opencv.EncodeJPEG(ann, 90); err == nil {
				r.Annotated = annotatedName(path, *outDir)
				err = os.WriteFile(r.Annotated, jpg, 0o644)
			}
		}
		if err != nil {
			r.Error = "annotate: " + err.Error()
			failed++
		}
		results = append(results, r)
	}
	if *asJSON {
		if err := writeJSON(os.Stdout, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			printFaces(r.Image, r.Width, r.Height, r.Faces, r.Annotated, r.Error)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images failed", failed, len(results))
	}
	return nil
}

func printFaces(path string, w, h int, faces []recognizer.Face, annotated, errText string) {
	if errText != "" {
		fmt.Printf("%s: ERROR %s\n", path, errText)
		return
	}
	fmt.Printf("%s (%dx%d): %d face(s) -> %s\n", path, w, h, len(faces), annotated)
	for i, f := range faces {
		q := f.Quality
		verdict := "usable"
		if !q.Usable() {
			verdict = "unusable: " + q.Reason
		}
		fmt.Printf("  #%d box %.0f,%.0f %.0fx%.0f  score %.3f  quality %.2f (iod %.0f px, sharpness %.0f, yaw %.0f° pitch %.0f° roll %.0f°) %s\n",
			i, f.Box.X, f.Box.Y, f.Box.W, f.Box.H, f.Score, q.Score, q.InterOcular, q.Sharpness, q.Yaw, q.Pitch, q.Roll, verdict)
		var lm []string
		for _, p := range f.Landmarks {
			lm = append(lm, fmt.Sprintf("(%.1f,%.1f)", p.X, p.Y))
		}
		fmt.Printf("     landmarks eyeL %s eyeR %s nose %s mouthL %s mouthR %s\n", lm[0], lm[1], lm[2], lm[3], lm[4])
	}
}

func annotatedName(path, outDir string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + ".faces.jpg"
	if outDir == "" {
		return filepath.Join(filepath.Dir(path), base)
	}
	return filepath.Join(outDir, base)
}
