package edge

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"
)

// handler serves /healthz and /metrics, and everything else from the
// guard-post monitor.
func (d *Daemon) handler(monitor http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", d.serveHealth)
	mux.Handle("GET /metrics", d.metricsHandler())
	mux.Handle("/", monitor)
	return mux
}

// listen opens the HTTP port, with TLS when a certificate is configured.
func (d *Daemon) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", d.cfg.HTTP.Listen)
	if err != nil || !d.cfg.HTTP.TLS() {
		return ln, err
	}
	cert, err := tls.LoadX509KeyPair(d.cfg.HTTP.CertFile, d.cfg.HTTP.KeyFile)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("http.cert_file: %w", err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

// Health is the /healthz document.
type Health struct {
	// Healthy is what the status code says: 200 when true, 503 when not.
	// The box is healthy when its store takes events and it recognises;
	// cameras and the broker are reported but do not make it unhealthy: a
	// dead camera is the camera's problem, and a box works offline.
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems,omitempty"`
	// Warnings are conditions an operator should act on that leave the
	// box working, such as being over capacity: it still recognises every
	// camera and stores every event, from fewer frames. They do not make
	// it unhealthy, since restarting or replacing a loaded box (what a
	// supervisor does with an unhealthy one) would lose more than it
	// saves.
	Warnings []string     `json:"warnings,omitempty"`
	Version  string       `json:"version,omitempty"`
	Started  time.Time    `json:"started"`
	Store    storeHealth  `json:"store"`
	Models   modelsHealth `json:"models"`
	Gallery  galleryInfo  `json:"gallery"`
	// RegionGallery is the region's gallery revision in force, and the
	// last revision refused.
	RegionGallery galleryHealth  `json:"region_gallery"`
	Rules         int64          `json:"rules"`
	Cameras       []cameraHealth `json:"cameras"`
	Outbox        outboxHealth   `json:"outbox"`
	Uplink        uplinkHealth   `json:"uplink"`
	// Capacity says whether the box keeps up with its cameras: the share
	// of sampled frames dropped before recognition over the last minute.
	Capacity capacityView `json:"capacity"`
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
	// The region's requests to publish ranges of the outbox again, and
	// the messages published for them.
	ResendRequests  uint64 `json:"resend_requests"`
	ResentOnRequest uint64 `json:"resent_on_request"`
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
	h.RegionGallery = d.gsync.health()
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
		LastError: us.LastError, ResendRequests: us.ResendRequests, ResentOnRequest: us.ResentOnRequest}
	h.Capacity = d.capacity.view()
	if w := h.Capacity.warning(); w != "" {
		h.Warnings = append(h.Warnings, w)
	}
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
