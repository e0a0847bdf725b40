package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/dozor-edge/dozor/internal/daemon"
	"github.com/dozor-edge/dozor/region"
	"github.com/dozor-edge/dozor/region/cgodeps"
	"github.com/dozor-edge/dozor/region/config"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its exit status returned, so tests can drive it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "user" {
		return userCmd(args[1:], os.Stdin, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "site" {
		return siteCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "loadgen" {
		return loadgenCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "bench-ingest" {
		return benchCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "status" {
		return statusCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "gallery" {
		return galleryCmd(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("regiond", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML; see -print-example-config)")
	example := fs.Bool("print-example-config", false, "print the commented example configuration (the defaults) and exit")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "regiond: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	if *example {
		if _, err := stdout.Write(config.Example()); err != nil {
			return 1
		}
		return 0
	}
	if *cfgPath == "" {
		fmt.Fprintln(stderr, "regiond: -config is required")
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "regiond: invalid configuration: %v\n", err)
		return 1
	}
	log := daemon.Logger(cfg.Log.Level, cfg.Log.Format, stderr)

	// The store links SQLite (cgo): it is built here and handed in.
	deps := cgodeps.Deps(cfg, log)
	deps.Version = version
	d, err := region.New(cfg, deps)
	if err != nil {
		fmt.Fprintf(stderr, "regiond: %v\n", err)
		return 1
	}
	ctx, stop := daemon.Signals(func() {
		log.Warn("SIGHUP: the sites file is read when regiond starts; restart it to apply changes",
			"sites_file", cfg.Broker.SitesFile)
	})
	defer stop()

	if err := d.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "regiond: cannot start: %v\n", err)
		return 1
	}
	return 0
}

// usageText lists the daemon's flags and every sub-command.
const usageText = `usage: regiond -config FILE | -print-example-config
       regiond site add -config FILE -site ID
       regiond site list -config FILE
       regiond user add -config FILE -name NAME -role ROLE [-lang ru|en] -password-stdin
       regiond status [-url http://127.0.0.1:8090]
       regiond gallery pubkey -config FILE
       regiond loadgen -mqtt URL -region R -sites-file F [-sites N] [-rate N] [-duration D] [-burst] [-json]
       regiond bench-ingest [-store sqlite|postgres] [-nodes 1|3] [-rate N,...] [-duration D] [-json]

Each sub-command lists its flags with -h.`

// siteCmd is `regiond site add|list`: the sites file's credentials.
func siteCmd(args []string, stdout, stderr io.Writer) int {
	usage := "usage: regiond site add -config FILE -site ID | regiond site list -config FILE"
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("regiond site "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file; its broker.sites_file is the file changed")
	site := new(string)
	if verb == "add" {
		site = fs.String("site", "", "the new site's id (its MQTT user name, site.id in its edged configuration)")
	}
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *cfgPath == "" || (verb == "add" && *site == "") {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "regiond: invalid configuration: %v\n", err)
		return 1
	}
	if !cfg.Broker.Embedded() {
		fmt.Fprintln(stderr, "regiond: broker.external is set: the sites' credentials belong to the external cluster's configuration")
		return 1
	}
	path := cfg.Broker.SitesFile
	if verb == "list" {
		sites, err := config.ReadSites(path)
		if err != nil {
			fmt.Fprintf(stderr, "regiond: %v\n", err)
			return 1
		}
		for _, s := range sites {
			fmt.Fprintln(stdout, s.Site)
		}
		return 0
	}
	pw, err := config.AddSite(path, *site)
	if err != nil {
		fmt.Fprintf(stderr, "regiond: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "site %s added to %s\npassword: %s\n", *site, path, pw)
	fmt.Fprintln(stdout, "The password is shown only this once: put it in the site's uplink password_file (uplink.username is the site id). Restart regiond to let the site in.")
	return 0
}
