package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/dozor-edge/dozor/region/loadgen"
)

// loadgenCmd is `regiond loadgen`: simulated sites publishing to a region.
func loadgenCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("regiond loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("mqtt", "", "the region's MQTT listener(s), comma-separated: tcp://host:port or ssl://host:port")
	region := fs.String("region", "", "the region id")
	n := fs.Int("sites", 400, "simulated sites (facilities), one MQTT connection each")
	sitesFile := fs.String("sites-file", "", "the region's broker.sites_file: missing simulated sites are added to it")
	pwFile := fs.String("passwords-file", "", "the simulated sites' clear passwords (default: the sites file + \".passwords\")")
	prefix := fs.String("site-prefix", "load", "simulated site ids are the prefix and four digits; use a new prefix for a new run against the same region")
	rate := fs.Float64("rate", 400, "peak messages per second, in total across the sites")
	duration := fs.Duration("duration", 30*time.Second, "how long to offer the load")
	burst := fs.Bool("burst", false, "alternate the peak with lulls at a tenth of it (5 s each) instead of holding it")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: regiond loadgen -mqtt URL -region R -sites-file F [-sites 400] [-rate N] [-duration D] [-burst] [-json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var missing []string
	for name, v := range map[string]string{"-mqtt": *brokers, "-region": *region, "-sites-file": *sitesFile} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if fs.NArg() > 0 || len(missing) > 0 {
		fmt.Fprintf(stderr, "regiond loadgen: missing %s\n", strings.Join(missing, ", "))
		fs.Usage()
		return 2
	}
	if *pwFile == "" {
		*pwFile = *sitesFile + ".passwords"
	}
	sites, added, err := loadgen.PrepareSites(*sitesFile, *pwFile, *prefix, *n)
	if err != nil {
		fmt.Fprintf(stderr, "regiond loadgen: %v\n", err)
		return 1
	}
	if added > 0 {
		fmt.Fprintf(stdout, "added %d simulated sites to %s (passwords in %s): restart regiond so that it reads them, then run this again\n", added, *sitesFile, *pwFile)
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := loadgen.Run(ctx, loadgen.Config{
		Brokers: strings.Split(*brokers, ","), Region: *region, Sites: sites,
		Schedule: loadgen.Schedule{Rate: *rate, Burst: *burst}, Duration: *duration,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil && r.Sites == 0 {
		fmt.Fprintf(stderr, "regiond loadgen: %v\n", err)
		return 1
	}
	if *asJSON {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteTable(stdout)
	}
	if err != nil {
		return 1
	}
	if r.Unacked() > 0 || len(r.Errors) > 0 {
		return 1
	}
	return 0
}
