package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/sync/uplink"
)

// depthStore answers the one question the metrics ask the store: the
// outbox depth. Anything else would panic on the nil Store.
type depthStore struct {
	Store
	depth int
}

func (s depthStore) OutboxDepth(context.Context) (int, error) { return s.depth, nil }

// idleOutbox is the outbox of an uplink that never runs.
type idleOutbox struct{}

func (idleOutbox) Pending(context.Context, uint64, int) ([]uplink.Message, error) { return nil, nil }
func (idleOutbox) MarkSent(context.Context, []uint64) error                       { return nil }
func (idleOutbox) Range(context.Context, uint64, uint64, int) ([]uplink.Message, error) {
	return nil, nil
}

// metricsDaemon is a daemon as far as /metrics reads it: one camera and an
// uplink, built but not started, a store that knows its outbox depth, a
// gallery, rules, and a few counts recorded.
func metricsDaemon(t *testing.T) *Daemon {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	cam, err := camera.New(camera.Config{ID: "gate", URL: "rtsp://127.0.0.1:8554/gate"}, camera.Options{
		Logger:   log,
		Decoders: func(camera.Codec) (camera.Decoder, error) { return nil, errors.New("the camera is not started") },
		Out:      camera.NewLatest(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ucfg := uplink.DefaultConfig()
	ucfg.Brokers, ucfg.Region, ucfg.Site = []string{"tcp://127.0.0.1:1883"}, "north", "ik5"
	up, err := uplink.New(ucfg, idleOutbox{}, log, uplink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{log: log, m: newMetrics(), cams: []*camera.Camera{cam}, up: up, st: depthStore{depth: 7},
		workers: 2, unstored: &unstored{}}
	d.rulesCount.Store(3)
	d.gInfo.Store(&galleryInfo{Templates: 12, Persons: 4})
	d.m.sightingsKnown.Inc()
	d.m.faces.Add(5)
	d.m.detect.ObserveSince(time.Now())
	return d
}

// scrape fetches /metrics from the daemon's handler.
func scrape(t *testing.T, d *Daemon) (body []byte, format expfmt.Format) {
	t.Helper()
	rec := httptest.NewRecorder()
	d.handler(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes(), expfmt.ResponseFormat(rec.Header())
}

func TestMetricsExposition(t *testing.T) {
	body, format := scrape(t, metricsDaemon(t))
	if format.FormatType() != expfmt.TypeTextPlain {
		t.Fatalf("served as %q, want the text format", format)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the Prometheus parser refuses /metrics: %v\n%s", err, body)
	}

	counter, gauge, histogram := dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_HISTOGRAM
	want := map[string]dto.MetricType{
		"dozor_camera_up":                        gauge,
		"dozor_camera_fps_in":                    gauge,
		"dozor_camera_fps_out":                   gauge,
		"dozor_camera_frames_total":              counter,
		"dozor_camera_frames_dropped_total":      counter,
		"dozor_camera_reconnects_total":          counter,
		"dozor_camera_decode_errors_total":       counter,
		"dozor_camera_pictures_total":            counter,
		"dozor_recognizer_embeddings_lent_total": counter,
		"dozor_camera_pictures_undecoded_total":  counter,
		"dozor_camera_stalls_total":              counter,
		"dozor_camera_packets_lost_total":        counter,
		"dozor_recognizer_frames_total":          counter,
		"dozor_recognizer_faces_total":           counter,
		"dozor_recognizer_errors_total":          counter,
		"dozor_recognizer_workers":               gauge,
		"dozor_recognizer_stage_seconds":         histogram,
		"dozor_recognizer_embeddings_total":      counter,
		"dozor_over_capacity":                    gauge,
		"dozor_frames_dropped_share":             gauge,
		"dozor_gallery_reloads_total":            counter,
		"dozor_gallery_reload_errors_total":      counter,
		"dozor_gallery_templates":                gauge,
		"dozor_gallery_persons":                  gauge,
		"dozor_gallery_revision":                 gauge,
		"dozor_gallery_refused_total":            counter,
		"dozor_gallery_chunks_dropped_total":     counter,
		"dozor_sightings_total":                  counter,
		"dozor_tracks_unassessed_total":          counter,
		"dozor_alerts_total":                     counter,
		"dozor_alerts_local_only_total":          counter,
		"dozor_storage_full_total":               counter,
		"dozor_store_errors_total":               counter,
		"dozor_events_rejected_total":            counter,
		"dozor_events_lost_total":                counter,
		"dozor_events_unstored":                  gauge,
		"dozor_rules":                            gauge,
		"dozor_outbox_depth":                     gauge,
		"dozor_uplink_connected":                 gauge,
		"dozor_uplink_published_total":           counter,
		"dozor_uplink_sent_total":                counter,
		"dozor_uplink_resent_total":              counter,
		"dozor_uplink_connects_total":            counter,
		"dozor_uplink_resend_requests_total":     counter,
		"dozor_uplink_resend_ignored_total":      counter,
		"dozor_uplink_resent_on_request_total":   counter,
		// The Go runtime and the process, as every Prometheus user expects.
		"go_goroutines":                 gauge,
		"process_resident_memory_bytes": gauge,
	}
	for name, typ := range want {
		f := fams[name]
		switch {
		case f == nil:
			t.Errorf("%s missing", name)
		case f.GetType() != typ:
			t.Errorf("%s is a %s, want a %s", name, f.GetType(), typ)
		case f.GetHelp() == "":
			t.Errorf("%s has no help text", name)
		}
	}
	for name := range fams {
		if _, ok := want[name]; strings.HasPrefix(name, "dozor_") && !ok {
			t.Errorf("unexpected family %s", name)
		}
	}

	// Values come from where the daemon keeps them, labelled as before.
	for _, c := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"dozor_camera_up", map[string]string{"camera": "gate"}, 0},
		{"dozor_sightings_total", map[string]string{"person": "known"}, 1},
		{"dozor_sightings_total", map[string]string{"person": "unknown"}, 0},
		{"dozor_recognizer_faces_total", nil, 5},
		{"dozor_recognizer_workers", nil, 2},
		{"dozor_gallery_templates", nil, 12},
		{"dozor_gallery_persons", nil, 4},
		{"dozor_rules", nil, 3},
		{"dozor_outbox_depth", nil, 7},
		{"dozor_uplink_connected", nil, 0},
	} {
		if got, err := sampleValue(fams[c.family], c.labels); err != nil || got != c.want {
			t.Errorf("%s%v = %v (%v), want %v", c.family, c.labels, got, err, c.want)
		}
	}
	stages := map[string]uint64{}
	for _, m := range fams["dozor_recognizer_stage_seconds"].GetMetric() {
		h := m.GetHistogram()
		if n := len(h.GetBucket()); n != len(latencyBuckets)+1 { // and +Inf
			t.Errorf("%d buckets, want %d", n, len(latencyBuckets)+1)
		}
		stages[labelValue(m, "stage")] = h.GetSampleCount()
	}
	if fmt.Sprint(stages) != "map[detect:1 embed:0 match:0]" {
		t.Errorf("stage observations %v, want one detect and none else", stages)
	}
}

func TestMetricsPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is needed to lint /metrics: install Debian's prometheus package "+
			"(apt-get install --no-install-recommends prometheus): %v", err)
	}
	body, _ := scrape(t, metricsDaemon(t))
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// sampleValue is the value of the sample of f with exactly these labels.
func sampleValue(f *dto.MetricFamily, labels map[string]string) (float64, error) {
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for k, v := range labels {
			match = match && labelValue(m, k) == v
		}
		if !match {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), nil
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue(), nil
		}
		return 0, fmt.Errorf("a %s", f.GetType())
	}
	return 0, errors.New("no such sample")
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestEveryAggregates(t *testing.T) {
	var buf bytes.Buffer
	e := newEvery(slog.New(slog.NewTextHandler(&buf, nil)), slog.LevelError, "decode errors", time.Hour)
	for i := range 37 {
		e.Note(fmt.Sprintf("error %d", i))
	}
	e.Tick() // the period has not passed: nothing more
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines for 37 errors within the period:\n%s", n, buf.String())
	}
	e.Flush()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "count=36") || !strings.Contains(lines[1], `last="error 36"`) {
		t.Fatalf("summary line wrong:\n%s", buf.String())
	}
}
