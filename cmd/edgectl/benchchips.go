package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dozor-edge/dozor/internal/bench"
	"github.com/dozor-edge/dozor/internal/engines"
)

func runBenchChips(ctx context.Context, args []string) error {
	fs := newFlags("bench-chips", "usage: edgectl bench-chips [--clip FILE] [--gallery PHOTO]... [--engine NAME] [--frames N] [--json]")
	modelFlag := fs.String("models", "", "models directory")
	clipFile := fs.String("clip", "", "video clip larger than the detection size (default: "+bench.DefaultChipsClip+" under $DOZOR_SHARED/testdata or ../shared/testdata)")
	engine := fs.String("engine", engines.Default, "engine: "+strings.Join(engines.Names[:3], ", "))
	detSize := fs.Int("det-size", 0, "detection resolution: longest side in pixels (default: the camera's, 640)")
	frames := fs.Int("frames", 0, "stop after this many sampled pictures (0: the whole clip)")
	var photos multiFlag
	fs.Var(&photos, "gallery", "photo of a person enrolled for the identity decisions, repeatable (default: the Hamilton clip's three enrolment photos, none of whom is in the default clip)")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *frames < 0 {
		return errors.New("--frames must not be negative")
	}
	dir, err := modelDir(*modelFlag)
	if err != nil {
		return err
	}
	if *clipFile == "" {
		if *clipFile, err = bench.TestData(bench.DefaultChipsClip); err != nil {
			return fmt.Errorf("no --clip given: %w", err)
		}
	}
	if len(photos) == 0 {
		for _, p := range bench.DefaultChipsGallery {
			f, err := bench.TestData(p)
			if err != nil {
				return fmt.Errorf("no --gallery given: %w", err)
			}
			photos = append(photos, f)
		}
	}
	fmt.Fprintln(os.Stderr, "bench-chips: reading the clip and running both modes")
	rep, err := bench.Chips(ctx, bench.ChipsConfig{Models: dir, Engine: *engine, Clip: *clipFile,
		DetectionSize: *detSize, MaxFrames: *frames, Gallery: photos})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, rep)
	}
	fmt.Printf("bench-chips: %s (%dx%d), detection at %dx%d, %d pictures at %g/s, engine %s, OpenCV on %d thread\n",
		filepath.Base(rep.Clip), rep.Width, rep.Height, rep.DetectionW, rep.DetectionH, rep.Frames, rep.SampleRate, rep.Engine, rep.OpenCVThreads)
	fmt.Printf("gallery (nobody in it is in the clip): %s\n\n", strings.Join(rep.Gallery, ", "))
	a, b := rep.Modes[0], rep.Modes[1]
	row := func(name, f string, x, y any) { fmt.Printf("| %s | "+f+" | "+f+" |\n", name, x, y) }
	fmt.Printf("| | chips from %s | chips from %s |\n|---|---|---|\n", a.Mode, b.Mode)
	row("faces detected", "%d", a.Faces, b.Faces)
	row("usable faces (usability gate: the worker embeds these)", "%d", a.Usable, b.Usable)
	row("confirmed tracks", "%d", a.Tracks, b.Tracks)
	row("usable faces per track", "%.2f", a.UsablePerTrack, b.UsablePerTrack)
	row(fmt.Sprintf("agreement within a track (mean cosine, every face, same %d tracks)", rep.AgreementTracks), "%.3f", a.Agreement, b.Agreement)
	row("mean cosine between faces of different tracks", "%.3f", a.Between, b.Between)
	row("agreement - between", "%.3f", a.Agreement-a.Between, b.Agreement-b.Between)
	row("faces whose nearest face (other pictures) is of their own track", "%.1f%%", 100*a.SameTrackNearest, 100*b.SameTrackNearest)
	row("tracks named (must be 0)", "%d", a.Named, b.Named)
	row("tracks unknown / unassessed", "%s", fmt.Sprintf("%d / %d", a.Unknown, a.Unassessed), fmt.Sprintf("%d / %d", b.Unknown, b.Unassessed))
	row("nearest enrolled score (mean over judged tracks)", "%.3f", a.NearestScore, b.NearestScore)
	row("convert ms per picture", "%.2f", a.ConvertMS, b.ConvertMS)
	row("recognize ms per picture (faces the worker embeds)", "%.1f", a.RecognizeMS, b.RecognizeMS)
	row("CPU ms per picture (convert + recognize)", "%.1f", a.CPUMS, b.CPUMS)
	row(fmt.Sprintf("share of one core at %g pictures/s", rep.SampleRate), "%.1f%%", 100*a.CoreShare, 100*b.CoreShare)
	row("CPU ms per picture with every face embedded (the chips' own cost)", "%.1f", a.AllFacesCPUMS, b.AllFacesCPUMS)
	return nil
}
