package region

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsHandler serves a private registry: the process's own figures and
// the region's, read at scrape time from the same snapshot as /healthz.
func (d *Daemon) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&regionCollector{d: d},
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

var (
	descIngest = prometheus.NewDesc("dozor_region_ingest_messages_total",
		"Messages the ingesters of this process handled, by outcome (received counts redeliveries too).",
		[]string{"outcome"}, nil)
	descResend = prometheus.NewDesc("dozor_region_resend_requests_total",
		"Requests sent to sites to publish a missing range again.", nil, nil)
	descPending = prometheus.NewDesc("dozor_region_stream_pending_messages",
		"Messages in the region's stream not yet delivered to an ingester.", nil, nil)
	descAckPending = prometheus.NewDesc("dozor_region_stream_ack_pending_messages",
		"Messages delivered to ingesters and not yet committed.", nil, nil)
	descStreamMsgs = prometheus.NewDesc("dozor_region_stream_messages",
		"Messages kept in the region's stream.", nil, nil)
	descConnected = prometheus.NewDesc("dozor_region_nats_connected",
		"1 when regiond is connected to NATS.", nil, nil)
	descStoreUp = prometheus.NewDesc("dozor_region_store_up",
		"1 when the store answered the last query.", nil, nil)
	descHighest = prometheus.NewDesc("dozor_region_site_highest_seq",
		"Highest sequence number received from the site.", []string{"site"}, nil)
	descContiguous = prometheus.NewDesc("dozor_region_site_contiguous_seq",
		"Sequence number up to which every message of the site was received.", []string{"site"}, nil)
	descGaps = prometheus.NewDesc("dozor_region_site_open_gaps",
		"Ranges missing from the site's sequence.", []string{"site"}, nil)
	descMissing = prometheus.NewDesc("dozor_region_site_missing_messages",
		"Sequence numbers missing from the site.", []string{"site"}, nil)
	descGalleryRevisions = prometheus.NewDesc("dozor_region_gallery_revisions_sent_total",
		"Gallery revisions published to sites (a re-send counts again), by kind (delta, full).", []string{"kind"}, nil)
	descGalleryChunks = prometheus.NewDesc("dozor_region_gallery_chunks_sent_total",
		"Gallery revision chunks published to sites.", nil, nil)
	descGalleryBytes = prometheus.NewDesc("dozor_region_gallery_bytes_sent_total",
		"Bytes of gallery revision chunks published to sites.", nil, nil)
	descGalleryErrors = prometheus.NewDesc("dozor_region_gallery_errors_total",
		"Gallery publishing rounds that failed for a site (retried).", nil, nil)
	descGalleryIssued = prometheus.NewDesc("dozor_region_site_gallery_issued_revision",
		"Newest gallery revision issued to the site.", []string{"site"}, nil)
	descGalleryInForce = prometheus.NewDesc("dozor_region_site_gallery_in_force_revision",
		"Gallery revision the site reported running.", []string{"site"}, nil)
)

// regionCollector reports the daemon's snapshot.
type regionCollector struct{ d *Daemon }

func (c *regionCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descIngest, descResend, descPending, descAckPending, descStreamMsgs,
		descConnected, descStoreUp, descHighest, descContiguous, descGaps, descMissing,
		descGalleryRevisions, descGalleryChunks, descGalleryBytes, descGalleryErrors, descGalleryIssued, descGalleryInForce} {
		ch <- d
	}
}

func (c *regionCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s := c.d.cache.get(ctx, c.d)
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	counter(descIngest, s.ingest.Received, "received")
	counter(descIngest, s.ingest.Stored, "stored")
	counter(descIngest, s.ingest.Duplicates, "duplicate")
	counter(descIngest, s.ingest.Quarantined, "quarantined")
	counter(descIngest, s.ingest.StoreErrors, "store_error")
	counter(descResend, s.ingest.ResendRequests)
	gauge(descPending, float64(s.stream.Pending))
	gauge(descAckPending, float64(s.stream.AckPending))
	gauge(descStreamMsgs, float64(s.stream.Messages))
	gauge(descConnected, b2f(s.connected))
	gauge(descStoreUp, b2f(s.storeErr == nil))
	for _, site := range s.sites {
		gauge(descHighest, float64(site.HighestSeq), site.ID)
		gauge(descContiguous, float64(site.ContiguousSeq), site.ID)
		gauge(descGaps, float64(len(site.Gaps)), site.ID)
		gauge(descMissing, float64(site.Missing), site.ID)
		if g := site.Gallery; g != nil {
			gauge(descGalleryIssued, float64(g.Issued), site.ID)
			gauge(descGalleryInForce, float64(g.InForce), site.ID)
		}
	}
	counter(descGalleryRevisions, s.gallery.Revisions-s.gallery.Full, "delta")
	counter(descGalleryRevisions, s.gallery.Full, "full")
	counter(descGalleryChunks, s.gallery.Chunks)
	counter(descGalleryBytes, s.gallery.Bytes)
	counter(descGalleryErrors, s.gallery.Errors)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
