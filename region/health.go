package region

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dozor-edge/dozor/region/gallery"
	"github.com/dozor-edge/dozor/region/ingest"
	"github.com/dozor-edge/dozor/region/store"
)

// handler serves /healthz and /metrics.
func (d *Daemon) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", d.serveHealth)
	mux.Handle("GET /metrics", d.metricsHandler())
	return mux
}

// Health is the /healthz document.
type Health struct {
	// Healthy is what the status code says: 200 when true, 503 when not.
	// The region is healthy when it is connected to NATS and its store
	// answers; a site that is offline or has gaps is reported, not a
	// problem of the region.
	Healthy  bool          `json:"healthy"`
	Problems []string      `json:"problems,omitempty"`
	Version  string        `json:"version,omitempty"`
	Region   string        `json:"region"`
	Started  time.Time     `json:"started"`
	Broker   BrokerHealth  `json:"broker"`
	Store    StoreHealth   `json:"store"`
	Stream   StreamHealth  `json:"stream"`
	Ingest   IngestHealth  `json:"ingest"`
	Gallery  GalleryHealth `json:"gallery"`
	Sites    []SiteHealth  `json:"sites"`
}

// GalleryHealth is the gallery publisher's counters and whether
// enrolment at the region is on.
type GalleryHealth struct {
	// PublicKey is the key the sites configure (gallery.region_public_key).
	PublicKey string `json:"public_key,omitempty"`
	// EnrolModel is the model enrolment at the region runs; empty when
	// enrolment is off.
	EnrolModel  string    `json:"enrol_model,omitempty"`
	Revisions   uint64    `json:"revisions_sent"`
	Full        uint64    `json:"full_sent"`
	Chunks      uint64    `json:"chunks_sent"`
	Bytes       uint64    `json:"bytes_sent"`
	Errors      uint64    `json:"errors"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// SiteGallery is a site's gallery revisions: the newest issued to it and
// the one it runs, by its newest acknowledgement.
type SiteGallery struct {
	Issued        uint64    `json:"issued"`
	InForce       uint64    `json:"in_force"`
	LastAckStatus string    `json:"last_ack_status,omitempty"`
	LastAckReason string    `json:"last_ack_reason,omitempty"`
	LastAckAt     time.Time `json:"last_ack_at,omitzero"`
	LastSentAt    time.Time `json:"last_sent_at,omitzero"`
	Members       int       `json:"members"`
	// Pending counts the open transfers from or to the site.
	Pending int `json:"pending_transfers"`
}

// BrokerHealth is regiond's NATS connection.
type BrokerHealth struct {
	Embedded  bool   `json:"embedded"`
	Connected bool   `json:"connected"`
	Server    string `json:"server,omitempty"` // the URL connected to, without credentials
	MQTT      string `json:"mqtt,omitempty"`   // the embedded node's MQTT listener
}

// StoreHealth says whether the store answered.
type StoreHealth struct {
	OK     bool   `json:"ok"`
	Driver string `json:"driver"`
	Error  string `json:"error,omitempty"`
}

// StreamHealth is the region's stream and how far the ingesters are
// behind it.
type StreamHealth struct {
	Name     string `json:"name"`
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	// Pending is the messages not yet delivered to any ingester (the lag),
	// AckPending those delivered and not yet committed.
	Pending    uint64 `json:"pending"`
	AckPending int    `json:"ack_pending"`
	Error      string `json:"error,omitempty"`
}

// IngestHealth sums the ingesters of this process.
type IngestHealth struct {
	Workers        int       `json:"workers"`
	Received       uint64    `json:"received"` // redeliveries included
	Stored         uint64    `json:"stored"`
	Duplicates     uint64    `json:"duplicates"`
	Quarantined    uint64    `json:"quarantined"`
	StoreErrors    uint64    `json:"store_errors"` // each such message is delivered again later
	ResendRequests uint64    `json:"resend_requests"`
	LastError      string    `json:"last_error,omitempty"`
	LastErrorAt    time.Time `json:"last_error_at,omitzero"`
}

func ingestHealth(workers int, s ingest.Stats) IngestHealth {
	return IngestHealth{Workers: workers, Received: s.Received, Stored: s.Stored, Duplicates: s.Duplicates,
		Quarantined: s.Quarantined, StoreErrors: s.StoreErrors, ResendRequests: s.ResendRequests,
		LastError: s.LastError, LastErrorAt: s.LastErrorAt}
}

// SiteHealth is one site as the store knows it.
type SiteHealth struct {
	ID            string      `json:"id"`
	State         string      `json:"state,omitempty"`
	Version       string      `json:"version,omitempty"`
	LastSeen      time.Time   `json:"last_seen,omitzero"`
	CamerasUp     int         `json:"cameras_up"`
	CamerasTotal  int         `json:"cameras_total"`
	HighestSeq    uint64      `json:"highest_seq"`
	ContiguousSeq uint64      `json:"contiguous_seq"`
	Missing       uint64      `json:"missing"`
	Gaps          []GapHealth `json:"gaps,omitempty"`
	// Gallery is nil for a site that was never issued a revision.
	Gallery *SiteGallery `json:"gallery,omitempty"`
}

// GapHealth is an open gap in a site's sequence and its repair so far.
type GapHealth struct {
	From        uint64    `json:"from"`
	To          uint64    `json:"to"`
	FirstSeen   time.Time `json:"first_seen"`
	Requested   int       `json:"requested"`
	LastRequest time.Time `json:"last_request,omitzero"`
}

func (d *Daemon) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := d.health(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !h.Healthy {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(h)
}

// health gathers the /healthz document from the latest snapshot.
func (d *Daemon) health(ctx context.Context) Health {
	s := d.cache.get(ctx, d)
	h := Health{
		Version: d.deps.Version, Region: d.cfg.Region.ID, Started: d.started,
		Broker:  BrokerHealth{Embedded: d.b != nil, Connected: s.connected, MQTT: d.MQTTURL()},
		Store:   StoreHealth{OK: s.storeErr == nil, Driver: d.cfg.Store.Driver},
		Stream:  s.stream,
		Ingest:  ingestHealth(len(d.ingests), s.ingest),
		Gallery: d.galleryHealth(s.gallery),
		Sites:   s.sites,
	}
	switch {
	case s.connected && d.b != nil:
		// The daemon's own connection to its embedded node is in-process
		// and has no URL; other replicas connect here.
		h.Broker.Server = d.b.ClientURL()
	case s.connected:
		h.Broker.Server = d.nc.ConnectedUrlRedacted()
	default:
		h.Problems = append(h.Problems, "not connected to NATS: events are not being received")
	}
	if s.storeErr != nil {
		h.Store.Error = s.storeErr.Error()
		h.Problems = append(h.Problems, "store cannot be read: "+s.storeErr.Error())
	}
	h.Healthy = len(h.Problems) == 0
	return h
}

// snapshot is what /healthz and /metrics report, read at most once a
// second so that scrapes and probes do not query the store each time.
type snapshot struct {
	connected bool
	stream    StreamHealth
	ingest    ingest.Stats
	gallery   gallery.Stats
	sites     []SiteHealth
	storeErr  error
}

type snapshotCache struct {
	mu sync.Mutex
	at time.Time
	s  snapshot
}

func (c *snapshotCache) get(ctx context.Context, d *Daemon) snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) < time.Second {
		return c.s
	}
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c.s = d.snapshot(qctx)
	c.at = time.Now()
	return c.s
}

// snapshot reads the connection, the stream, the ingesters and the store.
func (d *Daemon) snapshot(ctx context.Context) snapshot {
	s := snapshot{connected: d.nc.Status() == nats.CONNECTED, stream: StreamHealth{Name: d.stream}}
	if st, err := d.js.Stream(ctx, d.stream); err != nil {
		s.stream.Error = err.Error()
	} else if info, err := st.Info(ctx); err != nil {
		s.stream.Error = err.Error()
	} else {
		s.stream.Messages, s.stream.Bytes = info.State.Msgs, info.State.Bytes
	}
	if cons, err := d.js.Consumer(ctx, d.stream, ingest.DefaultDurable); err == nil {
		if ci, err := cons.Info(ctx); err == nil {
			s.stream.Pending, s.stream.AckPending = ci.NumPending, ci.NumAckPending
		}
	}
	for _, in := range d.ingests {
		s.ingest = addStats(s.ingest, in.Stats())
	}
	if d.pub != nil {
		s.gallery = d.pub.Stats()
	}
	s.sites, s.storeErr = d.sites(ctx)
	return s
}

func (d *Daemon) galleryHealth(s gallery.Stats) GalleryHealth {
	g := GalleryHealth{PublicKey: d.pubKey, Revisions: s.Revisions, Full: s.Full, Chunks: s.Chunks, Bytes: s.Bytes,
		Errors: s.Errors, LastError: s.LastError, LastErrorAt: s.LastErrorAt}
	if d.enrol != nil {
		g.EnrolModel = d.enrol.Model()
	}
	return g
}

// sites reads every site from the store, with the open gaps of those that
// have some.
func (d *Daemon) sites(ctx context.Context) ([]SiteHealth, error) {
	list, err := d.st.Sites(ctx)
	if err != nil {
		return []SiteHealth{}, err
	}
	out := make([]SiteHealth, 0, len(list))
	for _, s := range list {
		sh := SiteHealth{
			ID: s.ID, State: s.State, Version: s.Version, LastSeen: s.LastSeen,
			CamerasUp: s.CamerasUp, CamerasTotal: s.CamerasTotal,
			HighestSeq: s.HighestSeq, ContiguousSeq: s.ContiguousSeq, Missing: s.Missing,
		}
		if s.OpenGaps > 0 {
			gaps, err := d.st.Gaps(ctx, s.ID)
			if err != nil {
				return out, err
			}
			sh.Gaps = gapsHealth(gaps)
		}
		out = append(out, sh)
	}
	gs, err := d.st.GallerySites(ctx)
	if err != nil {
		return out, err
	}
	return mergeGallery(out, gs), nil
}

// mergeGallery adds each site's gallery state to its row; a site issued
// revisions before it was ever heard from gets a row of its own, so that
// it is seen to be waiting.
func mergeGallery(sites []SiteHealth, gs []store.GallerySite) []SiteHealth {
	at := make(map[string]int, len(sites))
	for i, s := range sites {
		at[s.ID] = i
	}
	for _, g := range gs {
		sg := &SiteGallery{Issued: g.Issued, InForce: g.InForce, LastAckStatus: g.LastAckStatus,
			LastAckReason: g.LastAckReason, LastAckAt: g.LastAckAt, LastSentAt: g.LastSentAt,
			Members: g.Members, Pending: g.Pending}
		if i, ok := at[g.Site]; ok {
			sites[i].Gallery = sg
			continue
		}
		sites = append(sites, SiteHealth{ID: g.Site, Gallery: sg})
	}
	slices.SortFunc(sites, func(a, b SiteHealth) int { return strings.Compare(a.ID, b.ID) })
	return sites
}

func gapsHealth(gaps []store.Gap) []GapHealth {
	out := make([]GapHealth, len(gaps))
	for i, g := range gaps {
		out[i] = GapHealth{From: g.From, To: g.To, FirstSeen: g.FirstSeen, Requested: g.Requested, LastRequest: g.LastRequest}
	}
	return out
}

// addStats sums two ingesters' counts; the last error is the newer one.
func addStats(a, b ingest.Stats) ingest.Stats {
	a.Received += b.Received
	a.Stored += b.Stored
	a.Duplicates += b.Duplicates
	a.Quarantined += b.Quarantined
	a.StoreErrors += b.StoreErrors
	a.ResendRequests += b.ResendRequests
	if b.LastErrorAt.After(a.LastErrorAt) {
		a.LastError, a.LastErrorAt = b.LastError, b.LastErrorAt
	}
	return a
}
