package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/dozor-edge/dozor/internal/bench"
	"github.com/dozor-edge/dozor/internal/mosquitto"
)

// daemonBench is what bench-latency and bench-capacity, which run the
// real daemon against simulated cameras, resolve from their flags.
type daemonBench struct {
	models, clip string
	log          *slog.Logger // the daemon's warnings (info with -v) on stderr
	progress     func(string) // the command's steps on stderr
}

// newDaemonBench resolves the models directory and the clip, defaultClip
// from the shared test data when none is given.
func newDaemonBench(name, modelFlag, clip, defaultClip string, verbose bool) (daemonBench, error) {
	models, err := modelDir(modelFlag)
	if err != nil {
		return daemonBench{}, err
	}
	if clip == "" {
		if clip, err = bench.TestData(defaultClip); err != nil {
			return daemonBench{}, fmt.Errorf("no --clip given: %w", err)
		}
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return daemonBench{
		models: models, clip: clip,
		log:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		progress: func(msg string) { fmt.Fprintln(os.Stderr, name+": "+msg) },
	}, nil
}

// mosquittoHint tells how to name the broker when none was found.
func mosquittoHint(err error) error {
	if errors.Is(err, mosquitto.ErrMissing) {
		return fmt.Errorf("%w (or pass --mosquitto)", err)
	}
	return err
}
