package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/hwtest"
	"github.com/dozor-edge/dozor/hw"
)

// errChecksFailed makes the exit status non-zero when a check failed;
// the table or JSON has already said which.
var errChecksFailed = errors.New("checks failed")

func runHWTest(ctx context.Context, args []string) error {
	return hwtestMain(ctx, args, os.Stdout, os.Stderr)
}

func hwtestMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("hwtest", "usage: edgectl hwtest [--config FILE] [--json] [--report DIR] [flags]\n\nRun it with edged stopped: it streams every camera itself and measures an idle box.\nExit status: 0 when nothing failed (warnings allowed), 1 when a check failed.")
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "the daemon's configuration file (default: the compiled-in defaults, no cameras)")
	asJSON := fs.Bool("json", false, "write the report as JSON on stdout instead of the table")
	reportDir := fs.String("report", "", "also write an HTML report (index.html, report.json, camera snapshots) to this folder")
	duration := fs.Duration("duration", 20*time.Second, "how long each camera is watched for faces once it streams")
	connectWait := fs.Duration("connect-wait", 10*time.Second, "how long a camera may take to deliver its first picture")
	writeMiB := fs.Int("write-mib", 64, "size of the fsync'd write test in the store's folder, MiB (0 skips it)")
	ntp := fs.String("ntp", "", "time server to measure the clock offset against (host or host:port; default: the kernel's sync state only)")
	pings := fs.Int("pings", 10, "MQTT round trips to the broker")
	procRoot := fs.String("proc-root", "/proc", "where /proc is read (a fixture tree for tests)")
	sysRoot := fs.String("sys-root", "/sys", "where /sys is read (a fixture tree for tests)")
	quiet := fs.Bool("quiet", false, "no progress display")
	var only multiFlag
	fs.Var(&only, "camera", "test only this camera id (repeatable; default: every camera in the configuration)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *writeMiB < 0 || *writeMiB > 4096 {
		return fmt.Errorf("--write-mib %d: want 0 to 4096", *writeMiB)
	}
	if *pings < 1 || *pings > 1000 {
		return fmt.Errorf("--pings %d: want 1 to 1000", *pings)
	}
	if *duration < time.Second || *connectWait < time.Second {
		return errors.New("--duration and --connect-wait must be at least 1s")
	}

	cfg := config.Defaults()
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath, os.LookupEnv); err != nil {
			return fmt.Errorf("invalid configuration: %w", err)
		}
	}
	if len(only) > 0 {
		var keep []config.Camera
		for _, id := range only {
			found := false
			for _, c := range cfg.Cameras {
				if c.ID == id {
					keep, found = append(keep, c), true
				}
			}
			if !found {
				return fmt.Errorf("--camera %s: no such camera in the configuration", id)
			}
		}
		cfg.Cameras = keep
	}
	opt := hwtest.Options{
		Version:     version,
		Roots:       hw.Roots{Proc: *procRoot, Sys: *sysRoot},
		Duration:    *duration,
		ConnectWait: *connectWait,
		WriteBytes:  int64(*writeMiB) << 20,
		NTPServer:   *ntp,
		Pings:       *pings,
	}
	if *writeMiB == 0 {
		opt.WriteBytes = -1
	}
	if !*quiet {
		opt.Progress = stderr
	}
	rep, err := hwtest.Run(ctx, cfg, opt)
	if err != nil {
		return err
	}
	if *reportDir != "" {
		if err := rep.WriteHTML(*reportDir); err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(stderr, "report: %s/index.html (its snapshots show people: keep it with the site's records)\n", *reportDir)
		}
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		return err
	}
	if rep.Verdict == hwtest.Fail {
		_, _, n := rep.Counts()
		return fmt.Errorf("%w: %d", errChecksFailed, n)
	}
	return nil
}
