package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/dozor-edge/dozor/internal/bench"
	"github.com/dozor-edge/dozor/internal/engines"
)

func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	modelFlag := fs.String("models", "", "models directory")
	imagePath := fs.String("image", "", "a JPEG photo with a face (default: a one-face test photo from $DOZOR_SHARED/testdata or ../shared/testdata)")
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
		if *imagePath, err = bench.TestData(bench.DefaultImages...); err != nil {
			return fmt.Errorf("no --image given: %w", err)
		}
	}
	rep, err := bench.Run(ctx, bench.Config{
		Models: dir, Engine: *engine, Image: *imagePath,
		Iterations: *iters, Templates: gsizes,
		Progress: func(pass string) { fmt.Fprintf(os.Stderr, "bench: %s pass done\n", pass) },
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, rep)
	}
	fmt.Printf("bench: %s (%dx%d), engine %s, %d cores, median of %d calls\n\n", rep.Image, rep.Width, rep.Height, rep.Engine, rep.Cores, *iters)
	fmt.Printf("| stage | ms, 1 thread | ms, all cores |\n|---|---|---|\n")
	for _, s := range rep.Stages {
		fmt.Printf("| %s | %.2f | %.2f |\n", s.Stage, s.MS1, s.MSAll)
	}
	fmt.Printf("\nwhole pipeline per face: %.1f ms (1 thread), %.1f ms (all cores)\n", rep.MSPerFace[0], rep.MSPerFace[1])
	fmt.Printf("faces/s: %.1f with 1 worker x 1 thread, %.1f with %d workers (one engine each)\n", rep.FacesPerSec[0], rep.FacesPerSec[1], rep.Cores)
	fmt.Printf("whole pipeline / bare forward passes: %.2f (1 thread), %.2f (all cores)\n", rep.Ratio[0], rep.Ratio[1])
	return nil
}
