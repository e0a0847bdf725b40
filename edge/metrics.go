package edge

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/recognizer/track"
	"github.com/dozor-edge/dozor/sync/gallerysync"
)

// counter is a Prometheus counter of whole events: the call sites add
// integer counts, and tests read the count back with Load.
type counter struct{ prometheus.Counter }

func (c counter) Add(n uint64) { c.Counter.Add(float64(n)) }

// Load returns the count so far.
func (c counter) Load() uint64 {
	var m dto.Metric
	_ = c.Write(&m) // a counter's Write cannot fail
	return uint64(m.GetCounter().GetValue())
}

// histogram times one recognition stage, in seconds.
type histogram struct{ prometheus.Observer }

// ObserveSince records the time elapsed since t0.
func (h histogram) ObserveSince(t0 time.Time) { h.Observe(time.Since(t0).Seconds()) }

// latencyBuckets span a fast detector pass (a few ms) to a box that is far
// behind (seconds).
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// metrics are the daemon's own counters and histograms. The figures other
// components own (cameras, uplink, outbox, gallery, rules) are read from
// them at scrape time by daemonCollector.
type metrics struct {
	framesProcessed counter
	faces           counter
	lent            counter
	recognizeErrors counter
	// embeddings counts the faces embedded and skipped, by reason: the
	// usability gate's and the embedding budget's (track.Reason).
	embeddings *prometheus.CounterVec
	detect     histogram
	embed      histogram
	match      histogram

	sightingsKnown   counter
	sightingsUnknown counter
	unassessed       counter
	alerts           counter
	alertsLocalOnly  counter // stored, but no wire kind to send them as
	storageFull      counter
	storeErrors      counter
	rejected         counter // events the store refused as invalid
	lost             counter // events dropped from a full backlog
	galleryReloads   counter
	galleryErrors    counter
	// The region's gallery: the revision in force, refusals by reason,
	// revision chunks dropped from a full queue.
	galleryRevision prometheus.Gauge
	galleryRefused  *prometheus.CounterVec
	galleryDropped  counter

	collectors []prometheus.Collector // all of the above, for a registry
}

func newMetrics() *metrics {
	m := &metrics{}
	stages := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dozor_recognizer_stage_seconds",
		Help:    "Time per recognition stage: detect and embed per frame, match per face.",
		Buckets: latencyBuckets,
	}, []string{"stage"})
	m.detect = histogram{stages.WithLabelValues("detect")}
	m.embed = histogram{stages.WithLabelValues("embed")}
	m.match = histogram{stages.WithLabelValues("match")}

	sightings := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dozor_sightings_total",
		Help: "Sightings produced (identity decisions and tracks that ended unknown).",
	}, []string{"person"})
	m.sightingsKnown = counter{sightings.WithLabelValues("known")}
	m.sightingsUnknown = counter{sightings.WithLabelValues("unknown")}

	m.galleryRevision = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "dozor_gallery_revision",
		Help: "The region's gallery revision in force at the site (0: none).",
	})
	m.galleryRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dozor_gallery_refused_total",
		Help: "Gallery revision chunks and revisions refused, by reason.",
	}, []string{"reason"})
	// Every reason shows from the start, at zero, so that a rate over it
	// needs no series to appear first.
	for _, r := range []string{gallerysync.ReasonMalformed, gallerysync.ReasonUnsigned, gallerysync.ReasonBadSignature,
		gallerysync.ReasonWrongSite, gallerysync.ReasonTruncated, gallerysync.ReasonOversized, gallerysync.ReasonBodyMismatch,
		gallerysync.ReasonBadBody, gallerysync.ReasonReplayed, gallerysync.ReasonOutOfOrder} {
		m.galleryRefused.WithLabelValues(r)
	}

	m.embeddings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dozor_recognizer_embeddings_total",
		Help: "Faces embedded (outcome made) and not (outcome skipped), by reason: the usability gate's (small, outside, unusable) and the embedding budget's.",
	}, []string{"outcome", "reason"})
	for _, r := range track.Reasons {
		m.embeddings.WithLabelValues(outcome(r.Embeds()), r.String())
	}
	for _, r := range []string{skipSmall, skipOutside, skipUnusable} {
		m.embeddings.WithLabelValues(outcome(false), r)
	}

	m.collectors = []prometheus.Collector{stages, sightings, m.galleryRevision, m.galleryRefused, m.embeddings}
	for _, c := range []struct {
		c          *counter
		name, help string
	}{
		{&m.framesProcessed, "dozor_recognizer_frames_total", "Frames recognised."},
		{&m.faces, "dozor_recognizer_faces_total", "Faces detected."},
		{&m.lent, "dozor_recognizer_embeddings_lent_total", "Faces embedded on an idle worker's engine, beside the worker's own."},
		{&m.recognizeErrors, "dozor_recognizer_errors_total", "Detect, embed or match failures."},
		{&m.galleryReloads, "dozor_gallery_reloads_total", "Gallery snapshots swapped in after a change."},
		{&m.galleryErrors, "dozor_gallery_reload_errors_total", "Gallery reloads that failed."},
		{&m.galleryDropped, "dozor_gallery_chunks_dropped_total", "Gallery revision chunks dropped from a full queue (the region sends them again)."},
		{&m.unassessed, "dozor_tracks_unassessed_total", "Tracks that ended with too few usable frames to judge."},
		{&m.alerts, "dozor_alerts_total", "Alerts raised by the rules."},
		{&m.alertsLocalOnly, "dozor_alerts_local_only_total", "Alerts stored but not sent: the wire has no kind for them."},
		{&m.storageFull, "dozor_storage_full_total", "Event writes refused because the storage is full."},
		{&m.storeErrors, "dozor_store_errors_total", "Event writes that failed for another passing reason."},
		{&m.rejected, "dozor_events_rejected_total", "Events the store refused as invalid."},
		{&m.lost, "dozor_events_lost_total", "Unstored events dropped from a full in-memory backlog or at shutdown."},
	} {
		c.c.Counter = prometheus.NewCounter(prometheus.CounterOpts{Name: c.name, Help: c.help})
		m.collectors = append(m.collectors, c.c.Counter)
	}
	return m
}

// outcome is the label of an embedding made or skipped.
func outcome(made bool) string {
	if made {
		return "made"
	}
	return "skipped"
}

// embedSkipped counts a face the usability gate kept from the budget.
func (m *metrics) embedSkipped(reason string) {
	m.embeddings.WithLabelValues(outcome(false), reason).Inc()
}

// embedDecided counts the budget's verdict on a face.
func (m *metrics) embedDecided(made bool, why track.Reason) {
	m.embeddings.WithLabelValues(outcome(made), why.String()).Inc()
}

// metricsHandler serves /metrics from a registry of the daemon's own, so
// that daemons in one process (the tests run several) never share or
// collide: the daemon's metrics, and the Go runtime and process metrics
// that every Prometheus user expects.
func (d *Daemon) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		daemonCollector{d},
	)
	reg.MustRegister(d.m.collectors...)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(d.log.With("component", "metrics").Handler(), slog.LevelError),
	})
}

// cameraMetric is one per-camera figure taken from the camera's health.
type cameraMetric struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(camera.Health) float64
}

func cameraDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, []string{"camera"}, nil)
}

var cameraMetrics = []cameraMetric{
	{cameraDesc("dozor_camera_up", "1 while the camera streams pictures."), prometheus.GaugeValue,
		func(h camera.Health) float64 { return boolValue(h.State == camera.StateStreaming) }},
	{cameraDesc("dozor_camera_fps_in", "Pictures received per second: decoded, or left undecoded when no other picture refers to them and none is due for sampling."), prometheus.GaugeValue,
		func(h camera.Health) float64 { return h.FPSIn }},
	{cameraDesc("dozor_camera_fps_out", "Frames handed to recognition per second."), prometheus.GaugeValue,
		func(h camera.Health) float64 { return h.FPSOut }},
	{cameraDesc("dozor_camera_frames_total", "Frames handed to recognition."), prometheus.CounterValue,
		func(h camera.Health) float64 { return float64(h.Frames) }},
	{cameraDesc("dozor_camera_frames_dropped_total", "Frames replaced by a newer one before a worker took them."), prometheus.CounterValue,
		func(h camera.Health) float64 { return float64(h.Drops) }},
	{cameraDesc("dozor_camera_reconnects_total", "Camera sessions started after the first."), prometheus.CounterValue,
		func(h camera.Health) float64 { return float64(h.Reconnects) }},
	{cameraDesc("dozor_camera_pictures_total", "Pictures received: decoded, or left undecoded."), prometheus.CounterValue,
		func(h camera.Health) float64 { return float64(h.Pictures) }},
	{cameraDesc("dozor_camera_pictures_undecoded_total", "Pictures left undecoded: no other picture refers to them and none was due for sampling."), prometheus.CounterValue,
		func(h camera.Health) float64 { return float64(h.Undecoded) }},
	{cameraDesc("dozor_camera_decode_errors_total", "Access units the decoder rejected."), prometheus.CounterValue,
		func(h camera.Health) float64 { return float64(h.DecodeErrors) }},
	{cameraDesc("dozor_camera_stalls_total", "Sessions restarted by the stall watchdog."), prometheus.CounterValue,
		func(h camera.Health) float64 { return float64(h.Stalls) }},
	{cameraDesc("dozor_camera_packets_lost_total", "RTP packets missing."), prometheus.CounterValue,
		func(h camera.Health) float64 { return float64(h.PacketsLost) }},
}

func desc(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }

var (
	workersDesc   = desc("dozor_recognizer_workers", "Recognizer workers.")
	unstoredDesc  = desc("dozor_events_unstored", "Events held in memory because the store could not take them.")
	rulesDesc     = desc("dozor_rules", "Rules in force.")
	templatesDesc = desc("dozor_gallery_templates", "Templates in the gallery in use.")
	personsDesc   = desc("dozor_gallery_persons", "Persons in the gallery in use.")
	depthDesc     = desc("dozor_outbox_depth", "Messages waiting for the broker.")
	connectedDesc = desc("dozor_uplink_connected", "1 while connected to the regional broker.")
	publishedDesc = desc("dozor_uplink_published_total", "Messages published (including resends).")
	sentDesc      = desc("dozor_uplink_sent_total", "Messages acknowledged by the broker and marked sent.")
	resentDesc    = desc("dozor_uplink_resent_total", "Messages published again after a reconnect.")
	connectsDesc  = desc("dozor_uplink_connects_total", "Connections to the broker.")

	resendRequestsDesc  = desc("dozor_uplink_resend_requests_total", "Requests from the region to publish a range of the outbox again.")
	resendIgnoredDesc   = desc("dozor_uplink_resend_ignored_total", "Resend requests refused: malformed, for another site, or too many at once.")
	resentOnRequestDesc = desc("dozor_uplink_resent_on_request_total", "Messages published again because the region asked for them.")

	overCapacityDesc = desc("dozor_over_capacity", "1 while more than a tenth of the sampled frames of the last minute were dropped before recognition.")
	droppedShareDesc = desc("dozor_frames_dropped_share", "Share of the sampled frames of the last minute dropped before recognition.")

	liveViewersDesc = cameraDesc("dozor_live_viewers", "Browsers watching the camera's live video.")
	liveBytesDesc   = cameraDesc("dozor_live_bytes_total", "Bytes of live video delivered to browsers.")
	liveDropsDesc   = cameraDesc("dozor_live_dropped_total", "Live video messages a slow browser did not take (it resumed at the next keyframe).")
)

// daemonCollector reads, at each scrape, the figures that other components
// own, as /healthz does: the cameras' health, the uplink's counters, the
// outbox depth, the gallery in use, the rules and the unstored backlog.
type daemonCollector struct{ d *Daemon }

func (c daemonCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range cameraMetrics {
		ch <- m.desc
	}
	for _, dc := range []*prometheus.Desc{workersDesc, unstoredDesc, rulesDesc, templatesDesc, personsDesc, depthDesc,
		connectedDesc, publishedDesc, sentDesc, resentDesc, connectsDesc, liveViewersDesc, liveBytesDesc, liveDropsDesc,
		resendRequestsDesc, resendIgnoredDesc, resentOnRequestDesc, overCapacityDesc, droppedShareDesc} {
		ch <- dc
	}
}

func (c daemonCollector) Collect(ch chan<- prometheus.Metric) {
	d := c.d
	emit := func(dc *prometheus.Desc, typ prometheus.ValueType, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(dc, typ, v, labels...)
	}
	for i, cam := range d.cams {
		h := cam.Health()
		for _, m := range cameraMetrics {
			emit(m.desc, m.typ, m.value(h), h.Camera)
		}
		if i < len(d.hubs) && d.hubs[i] != nil {
			ls := d.hubs[i].Stats()
			emit(liveViewersDesc, prometheus.GaugeValue, float64(ls.Viewers), h.Camera)
			emit(liveBytesDesc, prometheus.CounterValue, float64(ls.Bytes), h.Camera)
			emit(liveDropsDesc, prometheus.CounterValue, float64(ls.Drops), h.Camera)
		}
	}

	emit(workersDesc, prometheus.GaugeValue, float64(d.workers))
	emit(unstoredDesc, prometheus.GaugeValue, float64(d.unstored.view().Backlog))
	emit(rulesDesc, prometheus.GaugeValue, float64(d.rulesCount.Load()))
	cv := d.capacity.view()
	emit(overCapacityDesc, prometheus.GaugeValue, boolValue(cv.Over))
	emit(droppedShareDesc, prometheus.GaugeValue, cv.DroppedShare)
	// No gallery, no gallery figures: zero would read as an empty gallery.
	if gi := d.gInfo.Load(); gi != nil {
		emit(templatesDesc, prometheus.GaugeValue, float64(gi.Templates))
		emit(personsDesc, prometheus.GaugeValue, float64(gi.Persons))
	}
	// Collect gets no request context; the cache bounds the query with its
	// own timeout. A depth the store cannot give is left out, not made up.
	if depth, err := d.depth.get(context.Background(), d.st); err == nil {
		emit(depthDesc, prometheus.GaugeValue, float64(depth))
	}

	us := d.up.Stats()
	emit(connectedDesc, prometheus.GaugeValue, boolValue(us.Connected))
	emit(publishedDesc, prometheus.CounterValue, float64(us.Published))
	emit(sentDesc, prometheus.CounterValue, float64(us.Sent))
	emit(resentDesc, prometheus.CounterValue, float64(us.Resent))
	emit(connectsDesc, prometheus.CounterValue, float64(us.Connects))
	emit(resendRequestsDesc, prometheus.CounterValue, float64(us.ResendRequests))
	emit(resendIgnoredDesc, prometheus.CounterValue, float64(us.ResendIgnored))
	emit(resentOnRequestDesc, prometheus.CounterValue, float64(us.ResentOnRequest))
}

// boolValue is 1 for true and 0 for false, the Prometheus way to expose a
// state.
func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
