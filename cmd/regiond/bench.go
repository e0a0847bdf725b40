package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to create each run's database
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/errgroup"

	"github.com/dozor-edge/dozor/region"
	"github.com/dozor-edge/dozor/region/broker"
	"github.com/dozor-edge/dozor/region/cgodeps"
	"github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/loadgen"
	"github.com/dozor-edge/dozor/region/store"
)

// benchOptions are `regiond bench-ingest`'s flags.
type benchOptions struct {
	store    string
	pgDSN    string
	nodes    int
	sites    int
	rates    []float64
	duration time.Duration
	burst    bool
	workers  int
	catchUp  time.Duration
}

// benchCmd is `regiond bench-ingest`: a region started in this process on
// loopback (its NATS node or a three-node cluster, its store, its
// ingesters) and loadgen's simulated sites, one fresh region per rate.
func benchCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("regiond bench-ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o benchOptions
	fs.StringVar(&o.store, "store", "sqlite", "sqlite or postgres")
	fs.StringVar(&o.pgDSN, "pg-dsn", "", "with -store postgres: a server where each run creates (and drops) a fresh database")
	fs.IntVar(&o.nodes, "nodes", 1, "1: regiond's embedded NATS node; 3: three clustered nodes, the stream replicated R3")
	fs.IntVar(&o.sites, "sites", 400, "simulated sites")
	rates := fs.String("rate", "200,400", "offered peak rates, messages per second across the sites, comma-separated: one run each")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long each rate is offered")
	fs.BoolVar(&o.burst, "burst", false, "bursts at the peak alternating with lulls")
	fs.IntVar(&o.workers, "workers", 1, "ingesters in the region (ingest.workers)")
	fs.DurationVar(&o.catchUp, "catch-up", 2*time.Minute, "how long to wait after the load for the store to catch up")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	for _, f := range strings.Split(*rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			fmt.Fprintf(stderr, "regiond bench-ingest: -rate: %q is not a positive number\n", f)
			return 2
		}
		o.rates = append(o.rates, r)
	}
	switch {
	case o.store != "sqlite" && o.store != "postgres":
		fmt.Fprintf(stderr, "regiond bench-ingest: -store: %q, want sqlite or postgres\n", o.store)
		return 2
	case o.store == "postgres" && o.pgDSN == "":
		fmt.Fprintln(stderr, "regiond bench-ingest: -pg-dsn is required with -store postgres")
		return 2
	case o.nodes != 1 && o.nodes != 3:
		fmt.Fprintf(stderr, "regiond bench-ingest: -nodes: %d, want 1 or 3\n", o.nodes)
		return 2
	case o.sites < 1 || o.duration <= 0 || o.workers < 1 || fs.NArg() > 0:
		fmt.Fprintln(stderr, "regiond bench-ingest: -sites, -duration and -workers must be positive; no arguments")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	var results []benchResult
	for _, rate := range o.rates {
		r, err := benchRun(ctx, o, rate, log)
		if err != nil {
			fmt.Fprintf(stderr, "regiond bench-ingest: rate %v: %v\n", rate, err)
			if len(results) > 0 {
				writeBenchTable(stdout, o, results)
			}
			return 1
		}
		results = append(results, r)
		if !*asJSON {
			fmt.Fprintf(stderr, "rate %v done\n", rate)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if enc.Encode(results) != nil {
			return 1
		}
		return 0
	}
	writeBenchTable(stdout, o, results)
	return 0
}

// benchResult is one rate's figures.
type benchResult struct {
	Store      string        `json:"store"`
	Nodes      int           `json:"nodes"`
	Sites      int           `json:"sites"`
	Workers    int           `json:"workers"`
	Peak       float64       `json:"rate_peak"`
	Sent       uint64        `json:"sent"`
	Acked      uint64        `json:"acked"`
	Stored     uint64        `json:"committed"` // stored, duplicate or quarantined: each message's commit
	Offered    float64       `json:"offered_per_s"`
	During     float64       `json:"committed_per_s_during_load"`
	Overall    float64       `json:"committed_per_s_overall"`
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	Max        time.Duration `json:"max_ns"`
	CatchUp    time.Duration `json:"catch_up_ns"` // from the end of the load to the last commit
	PendingMax uint64        `json:"pending_max"`
	PendingEnd uint64        `json:"pending_at_end_of_load"`
	StoreBusy  float64       `json:"store_busy"` // share of the load's time the ingesters spent in Store.Ingest
	CPU        float64       `json:"cpu_cores"`  // the process's CPU time over the run's time
	Complete   bool          `json:"complete"`   // every sent message committed
}

func writeBenchTable(w io.Writer, o benchOptions, rs []benchResult) {
	fmt.Fprintf(w, "regiond bench-ingest: store %s, %d NATS node(s), %d sites, %d ingester(s), %v per rate%s\n",
		o.store, o.nodes, o.sites, o.workers, o.duration, map[bool]string{true: ", bursts", false: ""}[o.burst])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "peak/s\toffered/s\tsent\tacked\tcommitted\tcommitted/s (load)\tcommitted/s (all)\tp50\tp99\tmax\tcatch-up\tpending max\tpending at end\tstore busy\tCPU cores\t")
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	for _, r := range rs {
		fmt.Fprintf(tw, "%.0f\t%.1f\t%d\t%d\t%d\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t%d\t%d\t%.0f%%\t%.2f\t\n",
			r.Peak, r.Offered, r.Sent, r.Acked, r.Stored, r.During, r.Overall, ms(r.P50), ms(r.P99), ms(r.Max), ms(r.CatchUp),
			r.PendingMax, r.PendingEnd, 100*r.StoreBusy, r.CPU)
	}
	tw.Flush()
	for _, r := range rs {
		if !r.Complete {
			fmt.Fprintf(w, "rate %.0f: only %d of %d messages committed within the catch-up time\n", r.Peak, r.Stored, r.Sent)
		}
	}
}

// benchRun starts a fresh region, offers one rate and measures.
func benchRun(ctx context.Context, o benchOptions, rate float64, log *slog.Logger) (benchResult, error) {
	res := benchResult{Store: o.store, Nodes: o.nodes, Sites: o.sites, Workers: o.workers, Peak: rate}
	dir, err := os.MkdirTemp("", "regiond-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)

	sites, accounts, err := benchSites(o.sites)
	if err != nil {
		return res, err
	}
	cfg := config.Defaults()
	cfg.Region.ID = "bench"
	cfg.Data.Dir = dir
	cfg.Store.Path = filepath.Join(dir, "region.db")
	cfg.Broker.SitesFile = filepath.Join(dir, "sites")
	cfg.Broker.MQTTListen, cfg.Broker.NATSListen, cfg.HTTP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Ingest.Workers = o.workers
	var lines strings.Builder
	for _, a := range accounts {
		fmt.Fprintf(&lines, "%s %s\n", a.Site, a.PasswordHash)
	}
	if err := os.WriteFile(cfg.Broker.SitesFile, []byte(lines.String()), 0o600); err != nil {
		return res, err
	}
	if o.store == "postgres" {
		dsn, drop, err := benchDatabase(ctx, o.pgDSN)
		if err != nil {
			return res, err
		}
		defer drop()
		cfg.Store.Driver, cfg.Store.DSNFile = config.DriverPostgres, filepath.Join(dir, "dsn")
		if err := os.WriteFile(cfg.Store.DSNFile, []byte(dsn), 0o600); err != nil {
			return res, err
		}
	}
	var mqttURLs []string
	if o.nodes == 3 {
		nodes, pwFile, err := benchCluster(dir, cfg.Region.ID, accounts, log)
		if err != nil {
			return res, err
		}
		defer func() {
			for _, b := range nodes {
				b.Shutdown()
			}
		}()
		cfg.Broker.MQTTListen, cfg.Broker.NATSListen, cfg.Broker.SitesFile = "", "", ""
		cfg.Broker.ServiceUser, cfg.Broker.ServicePasswordFile, cfg.Broker.Replicas = broker.ServiceUser, pwFile, 3
		for _, b := range nodes {
			cfg.Broker.External = append(cfg.Broker.External, b.ClientURL())
			mqttURLs = append(mqttURLs, b.MQTTURL())
		}
	}

	rec := &benchRecorder{sent: map[benchKey]time.Time{}, committed: map[benchKey]time.Time{}}
	deps := cgodeps.Deps(cfg, log)
	open := deps.OpenStore
	deps.OpenStore = func() (store.Store, error) {
		st, err := open()
		if err != nil {
			return nil, err
		}
		return &timedStore{Store: st, rec: rec}, nil
	}
	d, err := region.New(cfg, deps)
	if err != nil {
		return res, err
	}
	runCtx, stopRegion := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(runCtx) }()
	defer func() { stopRegion(); <-runErr }()
	select {
	case <-d.Ready():
	case err := <-runErr:
		runErr <- err
		return res, err
	}
	if o.nodes == 1 {
		mqttURLs = []string{d.MQTTURL()}
	}

	// The stream's backlog, as /healthz reports it, once a second.
	var pendMu sync.Mutex
	var pending []uint64
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case <-t.C:
				if p, ok := healthPending(sampleCtx, d.HTTPAddr()); ok {
					pendMu.Lock()
					pending = append(pending, p)
					pendMu.Unlock()
				}
			}
		}
	})
	defer func() { stopSampling(); sampler.Wait() }()

	cpu0 := cpuTime()
	start := time.Now()
	rep, err := loadgen.Run(ctx, loadgen.Config{
		Brokers: mqttURLs, Region: cfg.Region.ID, Sites: sites,
		Schedule: loadgen.Schedule{Rate: rate, Burst: o.burst}, Duration: o.duration,
		OnSent: rec.onSent, Logger: log,
	})
	if err != nil {
		return res, err
	}
	loadEnd := start.Add(rep.Offered)
	pendMu.Lock()
	res.PendingEnd = last(pending)
	pendMu.Unlock()
	res.Sent, res.Acked = rep.Total.Sent, rep.Total.Acked
	res.Offered = float64(rep.Total.Sent) / rep.Offered.Seconds()

	// Wait for the store to commit everything sent.
	deadline := time.Now().Add(o.catchUp)
	for rec.count() < rep.Total.Sent && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(start)
	res.CPU = (cpuTime() - cpu0).Seconds() / elapsed.Seconds()
	stopSampling()
	sampler.Wait()
	for _, p := range pending {
		res.PendingMax = max(res.PendingMax, p)
	}
	rec.figures(&res, start, loadEnd, o.workers)
	return res, nil
}

// benchSites makes the simulated sites' logins, hashed at bcrypt's lowest
// cost: with the default cost 400 connections would spend half a minute
// of CPU in the broker's password checks before the measurement.
func benchSites(n int) ([]loadgen.Site, []broker.SiteAccount, error) {
	sites := make([]loadgen.Site, n)
	accounts := make([]broker.SiteAccount, n)
	for i := range n {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, nil, err
		}
		sites[i] = loadgen.Site{ID: loadgen.SiteID("load", i+1), Password: hex.EncodeToString(b[:])}
		h, err := bcrypt.GenerateFromPassword([]byte(sites[i].Password), bcrypt.MinCost)
		if err != nil {
			return nil, nil, err
		}
		accounts[i] = broker.SiteAccount{Site: sites[i].ID, PasswordHash: string(h)}
	}
	return sites, accounts, nil
}

// benchCluster starts three clustered NATS nodes in this process.
func benchCluster(dir, region string, accounts []broker.SiteAccount, log *slog.Logger) ([]*broker.Broker, string, error) {
	var routes []string
	for range 3 {
		p, err := freePort()
		if err != nil {
			return nil, "", err
		}
		routes = append(routes, "127.0.0.1:"+strconv.Itoa(p))
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, "", err
	}
	pw := hex.EncodeToString(b[:])
	pwFile := filepath.Join(dir, "service-password")
	if err := os.WriteFile(pwFile, []byte(pw), 0o600); err != nil {
		return nil, "", err
	}
	nodes := make([]*broker.Broker, 3)
	var g errgroup.Group
	for i := range nodes {
		g.Go(func() error {
			var err error
			nodes[i], err = broker.Start(broker.Config{
				Dir: filepath.Join(dir, fmt.Sprintf("n%d", i+1)), Region: region, ServerName: fmt.Sprintf("n%d", i+1),
				MQTTListen: "127.0.0.1:0", NATSListen: "127.0.0.1:0", Sites: accounts, ServicePassword: pw,
				Cluster:  &broker.ClusterConfig{Name: "bench", Listen: routes[i], Routes: routes, Password: pw},
				Replicas: 3, Logger: log,
			})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		for _, n := range nodes {
			if n != nil {
				n.Shutdown()
			}
		}
		return nil, "", err
	}
	return nodes, pwFile, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// benchDatabase creates a fresh database on the server dsn points at and
// returns its DSN and a function that drops it.
func benchDatabase(ctx context.Context, dsn string) (string, func(), error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, fmt.Errorf("-pg-dsn: %w", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		db.Close()
		return "", nil, err
	}
	name := "regiond_bench_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("-pg-dsn: creating a database: %w", err)
	}
	drop := func() {
		_, _ = db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		db.Close()
	}
	// A key=value DSN or a URL: the database named last wins in both.
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "dbname=" + name, drop, nil
	}
	return dsn + " dbname=" + name, drop, nil
}

func healthPending(ctx context.Context, addr string) (uint64, bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return 0, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var h region.Health
	if json.NewDecoder(resp.Body).Decode(&h) != nil || h.Stream.Error != "" {
		return 0, false
	}
	return h.Stream.Pending + uint64(h.Stream.AckPending), true
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func last(s []uint64) uint64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

// benchKey names one message: (site, seq), or a status by its publish
// order at the site (statuses carry no seq).
type benchKey struct {
	site string
	seq  uint64
}

// benchRecorder pairs each message's first publish with its commit.
type benchRecorder struct {
	mu        sync.Mutex
	sent      map[benchKey]time.Time
	committed map[benchKey]time.Time
	statuses  uint64 // statuses committed
	busy      time.Duration
}

func (r *benchRecorder) onSent(s loadgen.Sent) {
	if s.Seq == 0 {
		return
	}
	r.mu.Lock()
	r.sent[benchKey{s.Site, s.Seq}] = s.At
	r.mu.Unlock()
}

func (r *benchRecorder) onCommit(site string, seq uint64, at time.Time, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.busy += took
	if seq == 0 {
		r.statuses++
		return
	}
	k := benchKey{site, seq}
	if _, ok := r.committed[k]; !ok {
		r.committed[k] = at
	}
}

func (r *benchRecorder) count() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return uint64(len(r.committed)) + r.statuses
}

func (r *benchRecorder) figures(res *benchResult, start, loadEnd time.Time, workers int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res.Stored = uint64(len(r.committed)) + r.statuses
	res.Complete = res.Stored >= res.Sent
	var lat []time.Duration
	var during uint64
	lastCommit := start
	for k, c := range r.committed {
		if c.After(lastCommit) {
			lastCommit = c
		}
		if !c.After(loadEnd) {
			during++
		}
		if s, ok := r.sent[k]; ok {
			lat = append(lat, c.Sub(s))
		}
	}
	loadSec := loadEnd.Sub(start).Seconds()
	res.During = float64(during) / loadSec
	res.Overall = float64(len(r.committed)) / lastCommit.Sub(start).Seconds()
	res.CatchUp = max(0, lastCommit.Sub(loadEnd))
	res.StoreBusy = r.busy.Seconds() / lastCommit.Sub(start).Seconds() / float64(workers)
	if len(lat) > 0 {
		slices.Sort(lat)
		res.P50, res.P99, res.Max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
}

// timedStore records when each Ingest returned (the commit) and how long
// it took.
type timedStore struct {
	store.Store
	rec *benchRecorder
}

func (s *timedStore) Ingest(ctx context.Context, m store.Message) (store.Outcome, error) {
	t0 := time.Now()
	out, err := s.Store.Ingest(ctx, m)
	if err == nil {
		t1 := time.Now()
		s.rec.onCommit(m.Topic.Site, m.Seq, t1, t1.Sub(t0))
	}
	return out, err
}
