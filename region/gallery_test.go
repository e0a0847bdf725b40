//go:build cgo

package region_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/region"
	"github.com/dozor-edge/dozor/region/cgodeps"
	"github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/enrol"
	"github.com/dozor-edge/dozor/region/ingest"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/gallerysync"
	"github.com/dozor-edge/dozor/sync/wire"
)

// TestDaemonGallery runs the daemon with the real engine: it makes its
// signing key on the first start, a person enrolled at the region reaches
// the site as a signed revision over MQTT, and the site's acknowledgement,
// ingested from the stream, shows the revision in force on /healthz.
func TestDaemonGallery(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Models.Dir, cfg.Models.Engine = testenv.ModelDir(t), engines.FacePlugin
	const site = "ik5"
	password, err := config.AddSite(cfg.Broker.SitesFile, site)
	if err != nil {
		t.Fatal(err)
	}
	// The ingester says when it stored the site's acknowledgement; /healthz
	// is read after that.
	acked := make(chan struct{}, 1)
	deps := cgodeps.Deps(cfg, nil)
	deps.Ingest = func(c *ingest.Config) {
		stored := c.OnStored
		c.OnStored = func(m store.Message) {
			if stored != nil {
				stored(m)
			}
			if m.Topic.Kind == wire.KindGalleryAck {
				select {
				case acked <- struct{}{}:
				default:
				}
			}
		}
	}
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
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after stop: %v", err)
		}
	}()

	fi, err := os.Stat(filepath.Join(dir, "gallery-signing.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key not made with mode 0600: %v %v", fi, err)
	}
	url := "http://" + d.HTTPAddr() + "/healthz"
	h := health(t, url)
	pub, err := gallerysync.ParsePublicKey(h.Gallery.PublicKey)
	if err != nil {
		t.Fatalf("public key on /healthz: %v", err)
	}
	if h.Gallery.EnrolModel == "" || d.Enroller() == nil {
		t.Fatalf("enrolment at the region is off: %+v", h.Gallery)
	}

	// The site subscribes as the edge does and assembles what comes.
	c := connect(t, d.MQTTURL(), site, password)
	defer c.Disconnect(250)
	asm := gallerysync.NewAssembler("north", site, pub, gallerysync.DefaultLimits())
	revs := make(chan *gallerysync.Revision, 8)
	errs := make(chan error, 8)
	tok := c.Subscribe(must(wire.GalleryRevisionTopic("north", site)), 1, func(_ mqtt.Client, m mqtt.Message) {
		if r, err := asm.Add(m.Payload()); err != nil {
			errs <- err
		} else if r != nil {
			revs <- r
		}
	})
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	photo, err := os.ReadFile(filepath.Join(testenv.TestData(t, "video/enroll"), "obama.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := d.Enroller().Enrol(ctx, "supervisor-1", enrol.Profile{ID: "P-BO", DisplayName: "Barack Obama", Facility: site},
		[]enrol.Photo{{Name: "obama.jpg", Data: photo}})
	if err != nil || rs[0].Status != "enrolled" {
		t.Fatalf("enrol: %+v %v", rs, err)
	}
	var r *gallerysync.Revision
	select {
	case r = <-revs:
	case err := <-errs:
		t.Fatalf("the site refused a chunk: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no revision reached the site")
	}
	if !r.Full || r.Number != 1 || len(r.Upserts) != 1 || r.Upserts[0].ID != "P-BO" || len(r.Upserts[0].Templates) != 1 ||
		r.Upserts[0].Photos[0].SHA256 != rs[0].SHA256 {
		t.Fatalf("revision %d full %v upserts %+v", r.Number, r.Full, r.Upserts)
	}

	publish(t, c, must(wire.GalleryAckTopic("north", site)), wire.GalleryAck{Seq: 1, Site: site, Revision: 1, InForce: 1,
		Status: wire.GalleryApplied, At: time.Now().UTC(), Templates: 1})
	select {
	case <-acked:
	case <-time.After(30 * time.Second):
		t.Fatal("the acknowledgement was not stored within 30s")
	}
	if h = health(t, url); len(h.Sites) != 1 || h.Sites[0].Gallery == nil || h.Sites[0].Gallery.InForce != 1 {
		t.Fatalf("the acknowledgement is not on /healthz: %+v", h.Sites)
	}
	if g := h.Sites[0].Gallery; g.Issued != 1 || g.LastAckStatus != wire.GalleryApplied || h.Gallery.Revisions < 1 || h.Gallery.Bytes == 0 {
		t.Errorf("gallery on /healthz: site %+v, publisher %+v", g, h.Gallery)
	}
}
