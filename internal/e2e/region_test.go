//go:build cgo

package e2e_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dozor-edge/dozor/edge"
	edgestore "github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/mosquitto"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer/opencv"
	"github.com/dozor-edge/dozor/region"
	"github.com/dozor-edge/dozor/region/broker"
	rcgodeps "github.com/dozor-edge/dozor/region/cgodeps"
	rconfig "github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/ingest"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/wire"
)

// Test knobs: the link of ik5 is cut this long while it keeps recognising,
// and the region asks for a gap this soon.
const (
	cutFor      = 45 * time.Second
	resendAfter = 3 * time.Second
)

// TestRegionReceivesEverySiteEventOnce runs one regiond (embedded NATS on
// loopback, SQLite store) and two real facility daemons, ik5 and ik6.b,
// each recognising the labelled clip from its own simulated camera with
// the clip's three people enrolled, and checks that every event of both
// sites is stored at the region exactly once:
//   - while ik5's link is cut for a while (its outbox grows) and then
//     restored, after which it catches up in order;
//   - while a message of ik6.b is lost between the broker and the store
//     (deleted from the stream before it is ingested): the region sees the
//     gap, asks the site, and the site publishes it again from its outbox;
//   - and, after both sites stop in order, the region holds each site's
//     seqs 1..last once, its offline status, its camera and its audit
//     chain up to the site's own head.
func TestRegionReceivesEverySiteEventOnce(t *testing.T) {
	modelDir := testenv.ModelDir(t)
	videoDir := testenv.TestData(t, "video")
	ctx := context.Background()
	began := time.Now()

	rg := startRegion(t)
	pw5, err := rconfig.AddSite(rg.cfg.Broker.SitesFile, "ik5")
	if err != nil {
		t.Fatal(err)
	}
	pw6, err := rconfig.AddSite(rg.cfg.Broker.SitesFile, "ik6.b")
	if err != nil {
		t.Fatal(err)
	}
	rg.run(t)

	clip := hamilton(t, videoDir)
	link := startProxy(t, strings.TrimPrefix(rg.d.MQTTURL(), "tcp://"))
	cfg5 := edgeConfig(t, "ik5", link.url(), pw5, startCamera(t, clip).URL(), modelDir)
	cfg6 := edgeConfig(t, "ik6.b", rg.d.MQTTURL(), pw6, startCamera(t, clip).URL(), modelDir)
	eng, err := engines.New(modelDir, engines.Default, opencv.DefaultDetectorConfig)
	if err != nil {
		t.Fatal(err)
	}
	enrol(t, cfg5, eng, enrolmentPhotos(videoDir))
	enrol(t, cfg6, eng, enrolmentPhotos(videoDir))
	eng.Close()
	ik5, ik6 := startSite(t, cfg5), startSite(t, cfg6)

	// Both sites recognise and deliver: a sighting of each is stored.
	for _, s := range []*site{ik5, ik6} {
		waitUntil(t, 2*time.Minute, "sighting of "+s.id+" stored at the region", func() bool {
			got, _, err := rg.st.Sightings(ctx, store.SightingQuery{Site: s.id, Limit: 1})
			return err == nil && len(got) > 0
		})
	}
	t.Logf("both sites' sightings stored %v after the start", time.Since(began).Round(time.Second))

	// Cut ik5's link; while it is down, make ik6.b lose one message.
	link.cut()
	cutAt := time.Now()
	lost := forceGap(t, rg, ik6)

	// Keep ik5 cut for cutFor, and until its outbox holds what the region
	// has not had.
	time.Sleep(time.Until(cutAt.Add(cutFor)))
	var lastAtRestore uint64
	waitUntil(t, time.Minute, "ik5 outbox growing while its link is cut", func() bool {
		last, depth := ik5.outbox(t)
		lastAtRestore = last
		return depth > 0
	})
	_, depth := ik5.outbox(t)
	link.restore()
	restoredAt := time.Now()
	waitUntil(t, time.Minute, "ik5 caught up after its link came back", func() bool {
		s, ok := rg.site(t, "ik5")
		return ok && s.ContiguousSeq >= lastAtRestore
	})
	t.Logf("ik5: link cut %v with %d messages queued; caught up to seq %d %v after the restore",
		restoredAt.Sub(cutAt).Round(time.Second), depth, lastAtRestore, time.Since(restoredAt).Round(100*time.Millisecond))

	// Stop both sites in order and compare each outbox with the region.
	ik5.stop(t)
	ik6.stop(t)
	db := openReadOnly(t, rg.cfg.Store.Path)
	for _, s := range []*site{ik5, ik6} {
		checkDelivered(t, rg, db, s)
	}
	checkInOrder(t, db, "ik5", 0)
	checkInOrder(t, db, "ik6.b", lost)

	h := rg.health(t)
	if !h.Healthy || h.Ingest.Quarantined != 0 || h.Ingest.StoreErrors != 0 {
		t.Errorf("region /healthz at the end: healthy %v, problems %v, ingest %+v", h.Healthy, h.Problems, h.Ingest)
	}
	t.Logf("region: %d received, %d stored, %d duplicates, %d resend requests; the test took %v",
		h.Ingest.Received, h.Ingest.Stored, h.Ingest.Duplicates, h.Ingest.ResendRequests, time.Since(began).Round(time.Second))
	rg.stop(t)
}

// forceGap stops the region's ingestion, deletes from the stream one
// message of s that is not yet ingested while a later one of s is there
// too, and lets ingestion go on: the region sees the later seq but never
// the lost one, reports the gap on /healthz, asks the site, and stores the
// site's republished copy once. It returns the lost seq.
func forceGap(t *testing.T, rg *regionUnderTest, s *site) uint64 {
	t.Helper()
	ctx := context.Background()
	held := rg.gs.close()
	var inHand store.Message
	select {
	case inHand = <-held:
	case <-time.After(time.Minute):
		rg.gs.open()
		t.Fatal("no message reached the region's store within 1m")
	}
	floor := uint64(0)
	if st, ok := rg.site(t, s.id); ok {
		floor = st.HighestSeq
	}
	if inHand.Topic.Site == s.id {
		floor = max(floor, inHand.Seq)
	}

	// The messages of s in the stream beyond the one in hand are not
	// ingested yet (one ingester fetches one message at a time).
	cons, err := rg.js.Consumer(ctx, rg.stream.CachedInfo().Config.Name, ingest.DefaultDurable)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type pending struct{ streamSeq, seq uint64 }
	var found []pending
	next := ci.Delivered.Stream + 1
	waitUntil(t, time.Minute, "two new messages of "+s.id+" in the stream", func() bool {
		info, err := rg.stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for ; next <= info.State.LastSeq; next++ {
			raw, err := rg.stream.GetMsg(ctx, next)
			if err != nil {
				t.Fatalf("stream message %d: %v", next, err)
			}
			topic, err := broker.Topic(raw.Subject)
			if err != nil {
				t.Fatal(err)
			}
			m, err := wire.Decode(topic, raw.Data, time.Now())
			if err != nil {
				t.Fatalf("stream message %d on %s: %v", next, topic, err)
			}
			if m.Topic.Site == s.id && m.Seq() > floor {
				found = append(found, pending{next, m.Seq()})
			}
		}
		return len(found) >= 2
	})
	lost := found[0]
	if err := rg.stream.DeleteMsg(ctx, lost.streamSeq); err != nil {
		t.Fatal(err)
	}
	rg.gs.open()
	released := time.Now()

	// The gap is on /healthz while it is open ...
	var gap region.GapHealth
	waitUntil(t, 30*time.Second, fmt.Sprintf("gap at seq %d of %s on the region's /healthz", lost.seq, s.id), func() bool {
		for _, sh := range rg.health(t).Sites {
			for _, g := range sh.Gaps {
				if sh.ID == s.id && g.From <= lost.seq && lost.seq <= g.To {
					gap = g
					return true
				}
			}
		}
		return false
	})
	// ... and closes once the site answered the region's request.
	var h region.Health
	waitUntil(t, time.Minute, fmt.Sprintf("gap at seq %d of %s repaired", lost.seq, s.id), func() bool {
		h = rg.health(t)
		for _, sh := range h.Sites {
			if sh.ID == s.id {
				return sh.ContiguousSeq >= found[1].seq && len(sh.Gaps) == 0
			}
		}
		return false
	})
	if h.Ingest.ResendRequests == 0 {
		t.Errorf("region ingest counted no resend request: %+v", h.Ingest)
	}
	eh := edgeHealth(t, s.d.HTTPAddr())
	if eh.Uplink.ResendRequests == 0 || eh.Uplink.ResentOnRequest == 0 {
		t.Errorf("edge %s: /healthz counts %d resend requests and %d messages published again, want at least one of each",
			s.id, eh.Uplink.ResendRequests, eh.Uplink.ResentOnRequest)
	}
	if served := logLines(s.logs.String(), "range published again", fmt.Sprintf("from=%d ", lost.seq)); served == 0 {
		t.Errorf("edge %s: no log line says seq %d was published again", s.id, lost.seq)
	}
	t.Logf("%s: seq %d lost in the stream, seen as a gap %d..%d; %d resend requests; repaired %v after ingestion resumed",
		s.id, lost.seq, gap.From, gap.To, h.Ingest.ResendRequests, time.Since(released).Round(100*time.Millisecond))
	return lost.seq
}

// checkDelivered compares the outbox of the stopped site s with the
// region: every seq 1..last stored once with its kind, the sightings by
// id, the site offline, its camera, and the audit chain's head.
func checkDelivered(t *testing.T, rg *regionUnderTest, db *sql.DB, s *site) {
	t.Helper()
	ctx := context.Background()
	est, err := edgestore.Open(s.cfg.Store.Path, edgestore.Options{SQLite: sqlite.Binding{}, KeyFile: s.cfg.Store.KeyFile,
		Region: s.cfg.Site.Region, Site: s.id})
	if err != nil {
		t.Fatal(err)
	}
	defer est.Close()
	last, err := est.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	depth, err := est.OutboxDepth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, err := est.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if depth != 0 {
		t.Errorf("%s: %d messages still unsent after the orderly stop", s.id, depth)
	}
	kinds := map[uint64]string{}
	sightings := 0
	for from := uint64(1); from <= last; {
		msgs, err := est.OutboxRange(ctx, from, last, edgestore.MaxBatch)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			tp, err := wire.ParseTopic(m.Topic)
			if err != nil {
				t.Fatal(err)
			}
			kinds[m.Seq] = tp.Kind.String()
			if tp.Kind == wire.KindSighting {
				sightings++
			}
			from = m.Seq + 1
		}
	}
	if uint64(len(kinds)) != last {
		t.Fatalf("%s: the outbox holds %d messages for seqs 1..%d", s.id, len(kinds), last)
	}

	// The region's bookkeeping reaches the site's last seq once its
	// goodbye (offline, retained) is stored.
	var rs store.Site
	waitUntil(t, 30*time.Second, s.id+" offline at the region with every seq", func() bool {
		var ok bool
		rs, ok = rg.site(t, s.id)
		return ok && rs.ContiguousSeq == last && rs.State == wire.SiteOffline
	})
	if rs.HighestSeq != last || rs.OpenGaps != 0 || rs.Missing != 0 {
		t.Errorf("%s at the region: highest %d, contiguous %d, %d gaps, %d missing; the site's last seq is %d",
			s.id, rs.HighestSeq, rs.ContiguousSeq, rs.OpenGaps, rs.Missing, last)
	}

	// Rows by (site, seq): each seq of the outbox once, stored, same kind.
	rows, err := db.QueryContext(ctx, `SELECT seq, kind, status, count(*) FROM messages WHERE site = ? GROUP BY seq ORDER BY seq`, s.id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n uint64
	for rows.Next() {
		var seq uint64
		var kind, status string
		var copies int
		if err := rows.Scan(&seq, &kind, &status, &copies); err != nil {
			t.Fatal(err)
		}
		n++
		if seq != n || copies != 1 || status != "stored" || kind != kinds[seq] {
			t.Errorf("%s at the region: row %d is seq %d (%s, %s, %d copies); the outbox has seq %d as %s",
				s.id, n, seq, kind, status, copies, n, kinds[n])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != last {
		t.Errorf("%s: the region holds %d seqs, the site assigned %d", s.id, n, last)
	}
	var stored, ids int
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT id) FROM sightings WHERE site = ?`, s.id).Scan(&stored, &ids); err != nil {
		t.Fatal(err)
	}
	if stored != sightings || ids != sightings {
		t.Errorf("%s: the region holds %d sightings (%d ids); the outbox has %d", s.id, stored, ids, sightings)
	}

	cams, err := rg.st.Cameras(ctx, s.id)
	if err != nil {
		t.Fatal(err)
	}
	if len(cams) != 1 || cams[0].Camera != "stage" || cams[0].State == "" {
		t.Errorf("%s: cameras at the region: %+v", s.id, cams)
	}
	aseq, ahash, err := rg.st.AuditHead(ctx, s.id)
	if err != nil {
		t.Fatal(err)
	}
	if aseq != head.Seq || ahash != hex.EncodeToString(head.Hash[:]) {
		t.Errorf("%s: the region's audit head is %d %s; the site's is %d %x", s.id, aseq, ahash, head.Seq, head.Hash)
	}
	t.Logf("%s: %d messages (%d sightings, audit head %d) stored once at the region", s.id, last, sightings, head.Seq)
}

// checkInOrder checks that the region stored site's seqs in increasing
// order, but for except (a seq repaired later, or 0 for none).
func checkInOrder(t *testing.T, db *sql.DB, site string, except uint64) {
	t.Helper()
	rows, err := db.Query(`SELECT seq FROM messages WHERE site = ? ORDER BY received_ns, seq`, site)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prev uint64
	for rows.Next() {
		var seq uint64
		if err := rows.Scan(&seq); err != nil {
			t.Fatal(err)
		}
		if seq == except {
			continue
		}
		if seq < prev {
			t.Errorf("%s: seq %d stored after seq %d", site, seq, prev)
		}
		prev = seq
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// logLines counts the lines of log that contain every one of words.
func logLines(log string, words ...string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(l, w)
		}
		if all {
			n++
		}
	}
	return n
}

// regionUnderTest is one regiond with its store behind a gate, and a
// service connection to its stream.
type regionUnderTest struct {
	cfg    rconfig.Config
	d      *region.Daemon
	gs     *gatedStore
	st     store.Store // the gated store, for queries
	cancel context.CancelFunc
	done   chan error

	svcPass string
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  jetstream.Stream
}

// startRegion configures a region north on loopback; run starts it once
// its sites file is written.
func startRegion(t *testing.T) *regionUnderTest {
	t.Helper()
	dir := t.TempDir()
	port, err := mosquitto.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := rconfig.Defaults()
	cfg.Region.ID = "north"
	cfg.Data.Dir = dir
	cfg.Store.Path = filepath.Join(dir, "region.db")
	cfg.Broker.MQTTListen, cfg.Broker.NATSListen = "127.0.0.1:0", fmt.Sprintf("127.0.0.1:%d", port)
	cfg.Broker.SitesFile = filepath.Join(dir, "sites")
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Ingest.Workers = 1
	pw := make([]byte, 16)
	_, _ = rand.Read(pw)
	return &regionUnderTest{cfg: cfg, svcPass: hex.EncodeToString(pw)}
}

func (r *regionUnderTest) run(t *testing.T) {
	t.Helper()
	log, logs := newLog()
	showLog(t, "regiond", logs)
	deps := rcgodeps.Deps(r.cfg, log)
	open := deps.OpenStore
	deps.OpenStore = func() (store.Store, error) {
		s, err := open()
		if err != nil {
			return nil, err
		}
		r.gs = &gatedStore{Store: s}
		r.st = r.gs
		return r.gs, nil
	}
	deps.Version = "test"
	deps.Broker = func(c *broker.Config) { c.ServicePassword = r.svcPass }
	deps.Ingest = func(c *ingest.Config) {
		// One message at a time, so that a closed gate stops consumption
		// with nothing else fetched; a held message is not redelivered.
		c.Batch, c.ResendAfter, c.AckWait = 1, resendAfter, 2*time.Minute
	}
	d, err := region.New(r.cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	r.d = d
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	select {
	case <-d.Ready():
	case err := <-r.done:
		t.Fatalf("regiond did not start: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("regiond not ready after 1m")
	}
	if r.nc, err = nats.Connect("nats://"+r.cfg.Broker.NATSListen, nats.UserInfo(broker.ServiceUser, r.svcPass)); err != nil {
		t.Fatal(err)
	}
	if r.js, err = jetstream.New(r.nc); err != nil {
		t.Fatal(err)
	}
	if r.stream, err = r.js.Stream(context.Background(), broker.StreamName(r.cfg.Region.ID)); err != nil {
		t.Fatal(err)
	}
}

// stop stops regiond in order; a second call does nothing.
func (r *regionUnderTest) stop(t *testing.T) {
	t.Helper()
	if r.done == nil {
		return
	}
	if r.gs != nil {
		r.gs.open()
	}
	if r.nc != nil {
		r.nc.Close()
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("regiond: Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Error("regiond: Run did not return within 1m of the stop")
	}
	r.done = nil
	http.DefaultClient.CloseIdleConnections()
}

// site reads one site's bookkeeping from the region's store.
func (r *regionUnderTest) site(t *testing.T, id string) (store.Site, bool) {
	t.Helper()
	sites, err := r.st.Sites(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sites {
		if s.ID == id {
			return s, true
		}
	}
	return store.Site{}, false
}

// edgeHealth reads an edge daemon's /healthz.
func edgeHealth(t *testing.T, addr string) edge.Health {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h edge.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("edge /healthz: %v", err)
	}
	return h
}

// health reads regiond's /healthz.
func (r *regionUnderTest) health(t *testing.T) region.Health {
	t.Helper()
	resp, err := http.Get("http://" + r.d.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h region.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	return h
}
