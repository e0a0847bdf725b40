package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

// command is one edgectl sub-command: the name typed, the line usage
// prints for it, and the function that parses its flags and runs it.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}

// commands lists every sub-command in the order usage prints them.
var commands = []command{
	{"audit", "verify the audit log's hash chain, or list its entries (verify, list)", runAudit},
	{"bench", "time each recognition stage on this box (1 thread and all cores)", runBench},
	{"bench-capacity", "measure the cores N simulated cameras cost the daemon on this machine, per stage and per camera", runBenchCapacity},
	{"bench-chips", "compare face chips cut from the detection frame with chips cut from the full-resolution picture, on a clip", runBenchChips},
	{"bench-latency", "measure the daemon's frame-to-MQTT sighting latency on this machine (local broker and simulated camera)", runBenchLatency},
	{"bench-live", "measure what the live view costs per camera against decoding it", runBenchLive},
	{"enroll", "enrol persons from booking photos: one person, a folder or a CSV file", runEnroll},
	{"eval", "measure accuracy on a face data set (verify, identify, table)", runEval},
	{"faces", "print the faces found in images and write annotated copies", runFaces},
	{"gallery", "list the enrolled gallery, or re-embed it for another engine (list, reembed)", runGallery},
	{"hwtest", "test this box and its cameras and broker against the configuration: PASS / WARN / FAIL with fixes", runHWTest},
	{"models", "verify, install and list the ML weight files", runModels},
	{"rules", "list, create or delete the site's alert rules (list, put, delete)", runRules},
	{"simcam", "serve a video clip as a simulated RTSP camera (with faults on demand)", runSimcam},
	{"user", "manage the guard-post monitor's accounts (add, list, passwd, disable, enable, delete)", runUser},
	{"watch", "print a site's sightings, alerts and status from the MQTT broker as they arrive", runWatch},
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: edgectl <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// newFlags is the flag set of a sub-command; -h prints usage, then the
// flags.
func newFlags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseNoArgs parses the flags of a command that takes no other
// arguments.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// writeJSON prints v as indented JSON, the --json output of every command.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	c, ok := lookup(os.Args[1])
	if !ok {
		fmt.Fprintf(os.Stderr, "edgectl: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := c.run(ctx, os.Args[2:]); err != nil {
		// -h on a sub-command has printed its help; that is not a failure.
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "edgectl %s: %v\n", c.name, err)
		os.Exit(1)
	}
}
