package edge

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/dozor-edge/dozor/camera"
)

func (d *Daemon) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", d.serveHealth)
	mux.HandleFunc("GET /metrics", d.serveMetrics)
	return mux
}

// Health is the /healthz document.
type Health struct {
	// Healthy is what the status code says: 200 when true, 503 when not.
	// The box is healthy when its store takes events and it recognises;
	// cameras and the broker are reported but do not make it unhealthy: a
	// dead camera is the camera's problem, and a box works offline.
	Healthy  bool           `json:"healthy"`
	Problems []string       `json:"problems,omitempty"`
	Version  string         `json:"version,omitempty"`
	Started  time.Time      `json:"started"`
	Store    storeHealth    `json:"store"`
	Models   modelsHealth   `json:"models"`
	Gallery  galleryInfo    `json:"gallery"`
	Rules    int64          `json:"rules"`
	Cameras  []cameraHealth `json:"cameras"`
	Outbox   outboxHealth   `json:"outbox"`
	Uplink   uplinkHealth   `json:"uplink"`
	// Unstored is the backlog of events the store could not take (a full
	// disk): they are held in memory and retried, and are NOT stored yet.
	Unstored unstoredView `json:"unstored"`
}

type storeHealth struct {
	OK    bool   `json:"ok"`
	Path  string `json:"path"`
	Error string `json:"error,omitempty"`
}

type modelsHealth struct {
	OK      bool   `json:"ok"`
	Engine  string `json:"engine"`
	Model   string `json:"model"`
	Workers int    `json:"workers"`
}

type cameraHealth struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	Since      time.Time `json:"since"`
	Reason     string    `json:"reason,omitempty"`
	Error      string    `json:"error,omitempty"`
	FPSIn      float64   `json:"fps_in"`
	FPSOut     float64   `json:"fps_out"`
	Frames     uint64    `json:"frames"`
	Drops      uint64    `json:"drops"`
	Reconnects uint64    `json:"reconnects"`
	LastFrame  time.Time `json:"last_frame,omitzero"`
}

type outboxHealth struct {
	Depth int    `json:"depth"`
	Error string `json:"error,omitempty"`
}

type uplinkHealth struct {
	Connected bool   `json:"connected"`
	State     string `json:"state"`
	Broker    string `json:"broker,omitempty"`
	Sent      uint64 `json:"sent"`
	LastError string `json:"last_error,omitempty"`
}

// health gathers the /healthz document.
func (d *Daemon) health(r *http.Request) Health {
	h := Health{Version: d.deps.Version, Started: d.startedAt, Rules: d.rulesCount.Load(), Cameras: []cameraHealth{}}
	h.Store.Path = d.st.Path()
	depth, err := d.depth.get(r.Context(), d.st)
	h.Outbox.Depth = depth
	h.Store.OK = err == nil
	if err != nil {
		h.Store.Error, h.Outbox.Error = err.Error(), err.Error()
		h.Problems = append(h.Problems, "store cannot be read: "+err.Error())
	}
	h.Unstored = d.unstored.view()
	if h.Unstored.Backlog > 0 {
		h.Store.OK = false
		if h.Store.Error == "" {
			h.Store.Error = h.Unstored.Error
		}
		h.Problems = append(h.Problems, "events are NOT being stored: "+h.Unstored.Error)
	}
	h.Models = modelsHealth{OK: true, Engine: d.engineName, Model: string(d.model), Workers: d.workers}
	if gi := d.gInfo.Load(); gi != nil {
		h.Gallery = *gi
	}
	for _, c := range d.cams {
		ch := c.Health()
		h.Cameras = append(h.Cameras, cameraHealth{
			ID: ch.Camera, State: ch.State.String(), Since: ch.Since, Reason: string(ch.Reason), Error: ch.Error,
			FPSIn: ch.FPSIn, FPSOut: ch.FPSOut, Frames: ch.Frames, Drops: ch.Drops, Reconnects: ch.Reconnects,
			LastFrame: ch.LastFrame,
		})
	}
	us := d.up.Stats()
	h.Uplink = uplinkHealth{Connected: us.Connected, State: string(us.State), Broker: us.Broker, Sent: us.Sent,
		LastError: us.LastError}
	h.Healthy = len(h.Problems) == 0
	return h
}

func (d *Daemon) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := d.health(r)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !h.Healthy {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(h)
}

func (d *Daemon) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = expose(w, d.families(r))
}

// families collects every metric for one scrape.
func (d *Daemon) families(r *http.Request) []family {
	one := func(name, help, typ string, v float64) family {
		return family{name: name, help: help, typ: typ, samples: []sample{{value: v}}}
	}
	cnt := func(name, help string, c *counter) family { return one(name, help, "counter", float64(c.Load())) }
	m := d.m

	perCam := func(name, help, typ string, v func(camera.Health) float64) family {
		f := family{name: name, help: help, typ: typ}
		for _, c := range d.cams {
			h := c.Health()
			f.samples = append(f.samples, sample{labels: [][2]string{{"camera", h.Camera}}, value: v(h)})
		}
		return f
	}
	up := func(h camera.Health) float64 {
		if h.State == camera.StateStreaming {
			return 1
		}
		return 0
	}
	fams := []family{
		perCam("dozor_camera_up", "1 while the camera streams pictures.", "gauge", up),
		perCam("dozor_camera_fps_in", "Pictures decoded per second.", "gauge", func(h camera.Health) float64 { return h.FPSIn }),
		perCam("dozor_camera_fps_out", "Frames handed to recognition per second.", "gauge", func(h camera.Health) float64 { return h.FPSOut }),
		perCam("dozor_camera_frames_total", "Frames handed to recognition.", "counter", func(h camera.Health) float64 { return float64(h.Frames) }),
		perCam("dozor_camera_frames_dropped_total", "Frames replaced by a newer one before a worker took them.", "counter",
			func(h camera.Health) float64 { return float64(h.Drops) }),
		perCam("dozor_camera_reconnects_total", "Camera sessions started after the first.", "counter",
			func(h camera.Health) float64 { return float64(h.Reconnects) }),
		perCam("dozor_camera_decode_errors_total", "Access units the decoder rejected.", "counter",
			func(h camera.Health) float64 { return float64(h.DecodeErrors) }),
		perCam("dozor_camera_stalls_total", "Sessions restarted by the stall watchdog.", "counter",
			func(h camera.Health) float64 { return float64(h.Stalls) }),
		perCam("dozor_camera_packets_lost_total", "RTP packets missing.", "counter",
			func(h camera.Health) float64 { return float64(h.PacketsLost) }),

		cnt("dozor_recognizer_frames_total", "Frames recognised.", &m.framesProcessed),
		cnt("dozor_recognizer_faces_total", "Faces detected.", &m.faces),
		cnt("dozor_recognizer_errors_total", "Detect, embed or match failures.", &m.recognizeErrors),
		one("dozor_recognizer_workers", "Recognizer workers.", "gauge", float64(d.workers)),
		{name: "dozor_recognizer_stage_seconds", help: "Time per recognition stage: detect and embed per frame, match per face.",
			typ: "histogram", hists: []labelledHist{
				{labels: [][2]string{{"stage", "detect"}}, h: m.detect},
				{labels: [][2]string{{"stage", "embed"}}, h: m.embed},
				{labels: [][2]string{{"stage", "match"}}, h: m.match},
			}},

		cnt("dozor_gallery_reloads_total", "Gallery snapshots swapped in after a change.", &m.galleryReloads),
		cnt("dozor_gallery_reload_errors_total", "Gallery reloads that failed.", &m.galleryErrors),
		{name: "dozor_sightings_total", help: "Sightings produced (identity decisions and tracks that ended unknown).", typ: "counter",
			samples: []sample{
				{labels: [][2]string{{"person", "known"}}, value: float64(m.sightingsKnown.Load())},
				{labels: [][2]string{{"person", "unknown"}}, value: float64(m.sightingsUnknown.Load())},
			}},
		cnt("dozor_tracks_unassessed_total", "Tracks that ended with too few usable frames to judge.", &m.unassessed),
		cnt("dozor_alerts_total", "Alerts raised by the rules.", &m.alerts),
		cnt("dozor_alerts_local_only_total", "Alerts stored but not sent: the wire has no kind for them.", &m.alertsLocalOnly),
		cnt("dozor_storage_full_total", "Event writes refused because the storage is full.", &m.storageFull),
		cnt("dozor_store_errors_total", "Event writes that failed for another passing reason.", &m.storeErrors),
		cnt("dozor_events_rejected_total", "Events the store refused as invalid.", &m.rejected),
		cnt("dozor_events_lost_total", "Unstored events dropped from a full in-memory backlog or at shutdown.", &m.lost),
		one("dozor_events_unstored", "Events held in memory because the store could not take them.", "gauge",
			float64(d.unstored.view().Backlog)),
		cnt("dozor_uplink_crop_errors_total", "Crops that could not be read for publishing.", &m.cropErrors),
		one("dozor_rules", "Rules in force.", "gauge", float64(d.rulesCount.Load())),
	}
	if gi := d.gInfo.Load(); gi != nil {
		fams = append(fams,
			one("dozor_gallery_templates", "Templates in the gallery in use.", "gauge", float64(gi.Templates)),
			one("dozor_gallery_persons", "Persons in the gallery in use.", "gauge", float64(gi.Persons)))
	}
	if depth, err := d.depth.get(r.Context(), d.st); err == nil {
		fams = append(fams, one("dozor_outbox_depth", "Messages waiting for the broker.", "gauge", float64(depth)))
	}
	us := d.up.Stats()
	connected := 0.0
	if us.Connected {
		connected = 1
	}
	fams = append(fams,
		one("dozor_uplink_connected", "1 while connected to the regional broker.", "gauge", connected),
		one("dozor_uplink_published_total", "Messages published (including resends).", "counter", float64(us.Published)),
		one("dozor_uplink_sent_total", "Messages acknowledged by the broker and marked sent.", "counter", float64(us.Sent)),
		one("dozor_uplink_resent_total", "Messages published again after a reconnect.", "counter", float64(us.Resent)),
		one("dozor_uplink_connects_total", "Connections to the broker.", "counter", float64(us.Connects)),
	)
	return fams
}
