//go:build cgo

package edge_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge"
	"github.com/dozor-edge/dozor/edge/cgodeps"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/sync/uplink"
	"github.com/dozor-edge/dozor/sync/wire"
)

// enrolled are the people of the labelled clip's enrolment photos.
var enrolled = map[string]bool{"lin-manuel-miranda": true, "alex-lacamoire": true, "obama": true}

// e2eConfig is the daemon's configuration for one camera streaming the
// Hamilton clip, a real broker and a store in dir.
func e2eConfig(dir, keyFile, broker, cameraURL string) config.Config {
	cfg := config.Defaults()
	cfg.Site = config.Site{Region: "north", ID: "ik5", TimeZone: "UTC"}
	cfg.Recognizer.Workers = 2
	cfg.Recognizer.DetectFPS = 5
	cfg.Cameras = []config.Camera{{ID: "stage", URL: cameraURL, Zone: "hall"}}
	cfg.Store.Path = filepath.Join(dir, "dozor.db")
	cfg.Store.KeyFile = keyFile
	cfg.Uplink.Broker = broker
	cfg.HTTP.Listen = "127.0.0.1:0"
	return cfg
}

// fastUplink shortens the uplink's waits so that a test sees recovery in
// seconds.
func fastUplink(c *uplink.Config) {
	c.MinBackoff, c.MaxBackoff = 100*time.Millisecond, 500*time.Millisecond
	c.PollInterval = 500 * time.Millisecond
	c.ConnectTimeout = 2 * time.Second
}

// TestEndToEnd runs the daemon against real components on loopback: a
// simulated camera streaming the Hamilton clip over RTSP, the real models,
// a store with the three enrolment photos, and mosquitto, with a
// subscriber in the region's place.
func TestEndToEnd(t *testing.T) {
	modelDir := testenv.ModelDir(t)
	videoDir := testenv.TestData(t, "video")
	dir := t.TempDir()
	key := keyFile(t)

	b := startBroker(t)
	sub := subscribe(t, b.addr(), "dozor/v1/+/+/sighting")
	auditSub := subscribe(t, b.addr(), "dozor/v1/+/+/audit", "dozor/v1/+/+/gallery/enrol")
	cam := startCamera(t, hamilton(t, videoDir))

	cfg := e2eConfig(dir, key, b.url(), cam.URL())
	cfg.Models.Dir = modelDir
	enrol(t, cfg.Store.Path, key, modelDir, []string{
		filepath.Join(videoDir, "enroll", "lin-manuel-miranda.png"),
		filepath.Join(videoDir, "enroll", "alex-lacamoire.png"),
		filepath.Join(videoDir, "enroll", "obama.jpg"),
	})

	log, logs := newLog()
	deps := cgodeps.Deps(cfg, log)
	deps.Version, deps.Uplink, deps.RevisionEvery = "test", fastUplink, time.Second
	d, cancel, done := runDaemon(t, cfg, deps, logs)

	// Stream until the region has a sighting of an enrolled person with
	// its crop (the clip shows one within its first pass).
	started := time.Now()
	waitFor(t, 90*time.Second, "sighting of lin-manuel-miranda with its crop at the region", func() bool {
		for _, s := range sub.sightings(t) {
			if s.Person == "lin-manuel-miranda" && len(s.Crop) > 0 {
				return true
			}
		}
		return false
	}, sub.changed)
	streamFor := time.Since(started).Round(time.Second)

	h, code := getHealth(t, d.HTTPAddr())
	if code != http.StatusOK || !h.Healthy {
		t.Errorf("/healthz: %d, %+v", code, h)
	}
	if len(h.Cameras) != 1 || h.Cameras[0].State != "streaming" {
		t.Errorf("/healthz cameras: %+v", h.Cameras)
	}
	if h.Gallery.Persons != 3 || !h.Uplink.Connected || !h.Models.OK || !h.Store.OK {
		t.Errorf("/healthz: gallery %+v, uplink %+v, models %+v, store %+v", h.Gallery, h.Uplink, h.Models, h.Store)
	}
	// A dashboard connecting now gets the camera's retained status: up,
	// the wire's word for streaming, with its rate. The rate is known
	// once a status carrying it has been published (seen live), and a
	// subscriber connecting after that is handed it as retained.
	cameraStatus := func(m received) wire.CameraStatus {
		msg, err := wire.Decode(m.topic, m.payload, time.Now())
		if err != nil {
			t.Fatalf("camera status the region would refuse: %s: %v\n%s", m.topic, err, clip(m.payload))
		}
		if m.topic != "dozor/v1/north/ik5/camera/stage/status" {
			t.Errorf("camera status on %s", m.topic)
		}
		return msg.Payload.(wire.CameraStatus)
	}
	live := subscribe(t, b.addr(), "dozor/v1/+/+/camera/+/status")
	waitFor(t, 30*time.Second, "camera status with a rate", func() bool {
		return slices.ContainsFunc(live.snapshot(), func(m received) bool { return cameraStatus(m).FPS > 0 })
	}, live.changed)
	late := subscribe(t, b.addr(), "dozor/v1/+/+/camera/+/status")
	waitFor(t, 10*time.Second, "retained camera status for a late subscriber", func() bool { return len(late.snapshot()) > 0 },
		late.changed)
	first := late.snapshot()[0]
	cs, retained := cameraStatus(first), first.retained
	if !retained || cs.Camera != "stage" || cs.State != wire.CameraUp || cs.FPS <= 0 || cs.LastFrame.IsZero() {
		t.Errorf("camera status for a late subscriber: retained %v, %+v; want a retained up status with a rate and a last frame", retained, cs)
	}
	metrics := get(t, "http://"+d.HTTPAddr()+"/metrics")
	for _, name := range []string{
		`dozor_camera_fps_in{camera="stage"}`, `dozor_camera_fps_out{camera="stage"}`,
		`dozor_camera_frames_dropped_total{camera="stage"}`, `dozor_camera_reconnects_total{camera="stage"}`,
		`dozor_camera_decode_errors_total{camera="stage"}`,
		`dozor_recognizer_stage_seconds_bucket{stage="detect",le="0.05"}`, `dozor_recognizer_stage_seconds_count{stage="embed"}`,
		`dozor_recognizer_stage_seconds_count{stage="match"}`,
		"dozor_outbox_depth ", "dozor_gallery_templates 3", `dozor_sightings_total{person="known"}`,
		`dozor_sightings_total{person="unknown"}`, "dozor_alerts_total ", "dozor_storage_full_total 0",
		"dozor_uplink_connected 1",
	} {
		if !strings.Contains(metrics, "\n"+name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// What the embedding budget spent and saved on the clip.
	for line := range strings.Lines(metrics) {
		if strings.HasPrefix(line, "dozor_recognizer_embeddings_total{") {
			t.Log(strings.TrimSpace(line))
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60s of the cancel")
	}

	// Everything stored and acknowledged must have reached the region: the
	// seqs received are 1..(last assigned - still unsent).
	last, depth := outboxState(t, cfg.Store.Path)
	want := last - uint64(depth)
	all, auditBySeq, enrols := awaitRegion(t, sub, auditSub, want, 10*time.Second)
	bySeq := dedup(t, all)
	// Sightings, audit records and the enrolments sent up share the
	// outbox's counter: together they are every seq from 1 with no gap.
	union := map[uint64]wire.Sighting{}
	for seq, s := range bySeq {
		union[seq] = s
	}
	for seq := range auditBySeq {
		if _, ok := union[seq]; ok {
			t.Errorf("seq %d carried both a sighting and an audit record", seq)
		}
		union[seq] = wire.Sighting{}
	}
	for seq := range enrols {
		if _, ok := union[seq]; ok {
			t.Errorf("seq %d carried an enrolment and another message", seq)
		}
		union[seq] = wire.Sighting{}
	}
	top, gaps := contiguous(union)
	if len(gaps) > 0 || top != want {
		t.Errorf("received seqs up to %d with gaps %v; the store assigned %d and %d are unsent", top, gaps, last, depth)
	}
	checkAuditShipped(t, bySeq, auditBySeq)

	all = sub.sightings(t)
	byPerson := map[string]int{}
	ids := map[string]bool{}
	withCrop := 0
	for _, s := range bySeq {
		byPerson[s.Person]++
		ids[s.ID.String()] = true
		if s.Person != "" && !enrolled[s.Person] {
			t.Errorf("sighting %s names %q, who is not enrolled", s.ID, s.Person)
		}
		if s.Person == "" && s.Score >= cfg.Recognizer.Threshold && s.Margin >= cfg.Recognizer.Margin && s.Frames >= 3 {
			t.Logf("unknown sighting %s has score %.3f margin %.3f over %d frames", s.ID, s.Score, s.Margin, s.Frames)
		}
		if len(s.Crop) > 0 {
			withCrop++
		}
		t.Logf("seq %d: track %d person %q score %.3f margin %.3f frames %d quality %.2f crop %d B, %v",
			s.Seq, s.Track, s.Person, s.Score, s.Margin, s.Frames, s.Quality, len(s.Crop), s.LastSeen.Sub(s.FirstSeen).Round(100*time.Millisecond))
	}
	if len(ids) != len(bySeq) {
		t.Errorf("%d seqs but %d distinct sighting ids", len(bySeq), len(ids))
	}
	if byPerson["lin-manuel-miranda"] == 0 {
		t.Errorf("no sighting of lin-manuel-miranda; got %v", byPerson)
	}
	if byPerson[""] == 0 {
		t.Logf("no unknown face was reported")
	}
	if withCrop == 0 {
		t.Errorf("no sighting carried its crop")
	}
	t.Logf("sightings: %d received (%d with duplicates), seq 1..%d, unsent %d, by person %v, %d with crop",
		len(bySeq), len(all), top, depth, byPerson, withCrop)
	t.Logf("health at %v: camera %+v", streamFor, h.Cameras)
}

// checkAuditShipped checks the audit records the region received: their
// audit seqs run from 1 without gaps or repeats in outbox order, the hash
// chain links, they cover the enrolment and the release of the published
// sightings' crops, and those releases were shipped among the sightings,
// not only before them.
func checkAuditShipped(t *testing.T, sightings map[uint64]wire.Sighting, audits map[uint64]wire.AuditRecord) {
	t.Helper()
	seqs := make([]uint64, 0, len(audits))
	for seq := range audits {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	if len(seqs) == 0 {
		t.Error("no audit record reached the region")
		return
	}
	actions := map[string]int{}
	prev := strings.Repeat("0", 64)
	for i, seq := range seqs {
		r := audits[seq]
		if r.AuditSeq != uint64(i+1) {
			t.Errorf("audit record at outbox seq %d has audit seq %d, want %d (contiguous from 1)", seq, r.AuditSeq, i+1)
			return
		}
		if r.Prev != prev {
			t.Errorf("audit seq %d: prev %s, want the hash of the record before, %s", r.AuditSeq, r.Prev, prev)
		}
		prev = r.Hash
		actions[r.Action]++
	}
	for _, a := range []string{"template.enrol", "crop.release"} {
		if actions[a] == 0 {
			t.Errorf("no %s audit record arrived; got %v", a, actions)
		}
	}
	var firstSighting uint64
	for seq := range sightings {
		if firstSighting == 0 || seq < firstSighting {
			firstSighting = seq
		}
	}
	if firstSighting == 0 || seqs[len(seqs)-1] < firstSighting {
		t.Errorf("no audit record was shipped after the first sighting (seq %d); audit outbox seqs %v", firstSighting, seqs)
	}
	t.Logf("audit: %d records, audit seq 1..%d, outbox seqs %d..%d, actions %v",
		len(seqs), len(seqs), seqs[0], seqs[len(seqs)-1], actions)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func getHealth(t *testing.T, addr string) (edge.Health, int) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h edge.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	return h, resp.StatusCode
}
