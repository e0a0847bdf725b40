package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
	_ "time/tzdata" // rules read time windows in the facility's zone, whatever the host has installed

	"github.com/dozor-edge/dozor/edge"
	"github.com/dozor-edge/dozor/edge/cgodeps"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/internal/daemon"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its exit status returned, so tests can drive it.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edged", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML; see -print-example-config)")
	example := fs.Bool("print-example-config", false, "print the commented example configuration (the defaults) and exit")
	healthcheck := fs.Bool("healthcheck", false, "with -config: GET /healthz of the running daemon at http.listen; exit 0 on 200, 1 otherwise (a container HEALTHCHECK)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: edged -config FILE [-healthcheck] | -print-example-config")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "edged: unexpected arguments %q\n", fs.Args())
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
		fmt.Fprintln(stderr, "edged: -config is required")
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "edged: invalid configuration: %v\n", err)
		return 1
	}
	if *healthcheck {
		return checkHealth(cfg.HTTP.Listen, healthcheckTimeout, stdout, stderr)
	}
	log := daemon.Logger(cfg.Log.Level, cfg.Log.Format, stderr)

	// The parts that link C libraries (SQLite, OpenCV and dlib,
	// libavcodec) are built here and handed in.
	deps := cgodeps.Deps(cfg, log)
	deps.Version = version
	d, err := edge.New(cfg, deps)
	if err != nil {
		fmt.Fprintf(stderr, "edged: %v\n", err)
		return 1
	}
	ctx, stop := daemon.Signals(func() {
		log.Info("SIGHUP: reloading the gallery and the rules")
		d.Reload()
	})
	defer stop()

	if err := d.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "edged: cannot start: %v\n", err)
		return 1
	}
	return 0
}

// healthcheckTimeout bounds the whole -healthcheck request: a daemon that
// cannot answer within it counts as unhealthy.
const healthcheckTimeout = 5 * time.Second

// checkHealth asks the daemon listening on listen (the configuration's
// http.listen) for /healthz and returns the exit status of -healthcheck:
// 0 when it answers 200, 1 for any other status, an error or a timeout.
func checkHealth(listen string, timeout time.Duration, stdout, stderr io.Writer) int {
	url := "http://" + healthAddr(listen) + "/healthz"
	client := &http.Client{
		Timeout: timeout,
		// Straight to the daemon: no proxy from the environment, no
		// redirects, no idle connections left behind.
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(stderr, "edged: unhealthy: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "edged: unhealthy: GET %s: %s: %s\n", url, resp.Status, bytes.TrimSpace(body))
		return 1
	}
	fmt.Fprintf(stdout, "edged: healthy (GET %s: %s)\n", url, resp.Status)
	return 0
}

// healthAddr is the address to reach a daemon listening on listen: an
// unspecified host (":8080", "0.0.0.0:8080", "[::]:8080") is reached on
// the loopback interface.
func healthAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified() && ip.To4() == nil:
		host = "::1"
	case ip != nil && ip.IsUnspecified():
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
