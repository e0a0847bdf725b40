//go:build cgo

package region_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/dozor-edge/dozor/region"
	"github.com/dozor-edge/dozor/region/cgodeps"
	"github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is a region on loopback with free ports, its files in dir.
func testConfig(dir string) config.Config {
	c := config.Defaults()
	c.Region.ID = "north"
	c.Data.Dir = dir
	c.Store.Path = filepath.Join(dir, "region.db")
	c.Broker.MQTTListen, c.Broker.NATSListen = "127.0.0.1:0", "127.0.0.1:0"
	c.Broker.SitesFile = filepath.Join(dir, "sites")
	c.HTTP.Listen = "127.0.0.1:0"
	return c
}

// TestDaemonStoresSiteEvents runs the daemon with its embedded NATS node
// and the SQLite store, publishes real wire messages over MQTT as a site
// whose credentials are in the sites file (one of them twice), and finds
// each stored once and the site on /healthz.
func TestDaemonStoresSiteEvents(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	const site = "ik5.a" // a dot: one MQTT level, one NATS token
	password, err := config.AddSite(cfg.Broker.SitesFile, site)
	if err != nil {
		t.Fatal(err)
	}
	deps := cgodeps.Deps(cfg, nil)
	var st store.Store
	open := deps.OpenStore
	deps.OpenStore = func() (store.Store, error) {
		s, err := open()
		st = s
		return s, err
	}
	deps.Version = "test"
	d, err := region.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	select {
	case <-d.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("not ready")
	}

	c := connect(t, d.MQTTURL(), site, password)
	now := time.Now().UTC().Truncate(time.Millisecond)
	var ids []wire.ID
	for seq := uint64(1); seq <= 3; seq++ {
		s := wire.Sighting{
			ID: wire.MustNewID(), Seq: seq, Site: site, Camera: "gate-1", Track: seq, Person: "P-1",
			FirstSeen: now.Add(-3 * time.Second), BestAt: now.Add(-2 * time.Second), LastSeen: now,
			Frames: 4, Score: 0.9, Margin: 0.3, Model: "m-1", Quality: 0.7,
		}
		ids = append(ids, s.ID)
		publish(t, c, must(wire.SightingTopic("north", site)), s)
		if seq == 2 {
			publish(t, c, must(wire.SightingTopic("north", site)), s) // a resend of the same seq
		}
	}
	publish(t, c, must(wire.SiteStatusTopic("north", site)),
		wire.SiteStatus{Site: site, State: wire.SiteOnline, Version: "edge-1", At: now, CamerasUp: 1, CamerasTotal: 2})
	c.Disconnect(250)

	// Wait for the event: the site on /healthz with every seq received.
	url := "http://" + d.HTTPAddr() + "/healthz"
	var h region.Health
	deadline := time.Now().Add(30 * time.Second)
	for {
		h = health(t, url)
		if len(h.Sites) == 1 && h.Sites[0].ContiguousSeq == 3 && h.Sites[0].State == wire.SiteOnline && h.Ingest.Duplicates == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("site not reported as stored: %+v", h)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !h.Healthy || !h.Broker.Connected || !h.Store.OK || h.Sites[0].ID != site || h.Sites[0].HighestSeq != 3 ||
		len(h.Sites[0].Gaps) != 0 || h.Ingest.Stored != 4 || h.Sites[0].CamerasTotal != 2 {
		t.Fatalf("health: %+v", h)
	}

	got, _, err := st.Sightings(ctx, store.SightingQuery{Site: site})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d sightings stored, want 3: %+v", len(got), got)
	}
	seen := map[wire.ID]int{}
	for _, s := range got {
		seen[s.ID]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("sighting %s stored %d times", id, seen[id])
		}
	}

	resp, err := http.Get("http://" + d.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after stop: %v", err)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestFatalErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	deps := region.Deps{OpenStore: func() (store.Store, error) { return nil, errors.New("disk on fire") }}
	d, err := region.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	var fe *region.FatalError
	if err := d.Run(context.Background()); !errors.As(err, &fe) || fe.What != "store" {
		t.Fatalf("store failure: %v", err)
	}
	bad := cfg
	bad.Region.ID = "north/east"
	if _, err := region.New(bad, deps); !errors.As(err, &fe) || fe.What != "config" {
		t.Fatalf("bad config: %v", err)
	}
	if _, err := region.New(cfg, region.Deps{}); err == nil {
		t.Fatal("missing OpenStore accepted")
	}
}

func connect(t *testing.T, url, user, password string) mqtt.Client {
	t.Helper()
	// nats-server refuses an MQTT client id with a dot.
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID("edge-" + strings.ReplaceAll(user, ".", "_")).
		SetUsername(user).SetPassword(password).SetProtocolVersion(4).
		SetCleanSession(false).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("connect as %s: %v", user, tok.Error())
	}
	return c
}

func publish(t *testing.T, c mqtt.Client, topic string, p wire.Payload) {
	t.Helper()
	b, err := wire.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	tok := c.Publish(topic, 1, p.TopicKind().Retained(), b)
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func health(t *testing.T, url string) region.Health {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h region.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}
