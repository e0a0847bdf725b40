package edge

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The metrics are written in the Prometheus text exposition format
// (version 0.0.4) by this small registry rather than by client_golang:
// go.mod names client_golang but its own dependencies are not in go.sum,
// and adding them is the module owner's decision. The metric names, types
// and labels are the ones client_golang would expose, so switching is a
// change of this file only.

// counter is a monotonically increasing count.
type counter struct{ v atomic.Uint64 }

func (c *counter) Inc()         { c.v.Add(1) }
func (c *counter) Add(n uint64) { c.v.Add(n) }
func (c *counter) Load() uint64 { return c.v.Load() }

// histogram counts observations into fixed buckets (upper bounds, in
// seconds for the latency histograms).
type histogram struct {
	mu     sync.Mutex
	bounds []float64
	counts []uint64 // per bucket, not cumulative; one extra for +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

// Observe records one value.
func (h *histogram) Observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // first bound >= v
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.n++
	h.mu.Unlock()
}

// ObserveSince records the time elapsed since t0, in seconds.
func (h *histogram) ObserveSince(t0 time.Time) { h.Observe(time.Since(t0).Seconds()) }

// snapshot returns cumulative bucket counts, the sum and the count.
func (h *histogram) snapshot() (cum []uint64, sum float64, n uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cum = make([]uint64, len(h.counts))
	var acc uint64
	for i, c := range h.counts {
		acc += c
		cum[i] = acc
	}
	return cum, h.sum, h.n
}

// latencyBuckets span a fast detector pass (a few ms) to a box that is far
// behind (seconds).
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// sample is one labelled value of a metric family.
type sample struct {
	labels [][2]string
	value  float64
}

// family is one metric as exposed: a name, help text, type and samples.
// Histograms are written from hist instead of samples.
type family struct {
	name, help, typ string
	samples         []sample
	hists           []labelledHist
}

type labelledHist struct {
	labels [][2]string
	h      *histogram
}

// expose writes families in the text exposition format, sorted by name.
func expose(w io.Writer, fams []family) error {
	slices.SortFunc(fams, func(a, b family) int { return strings.Compare(a.name, b.name) })
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.typ)
		for _, s := range f.samples {
			fmt.Fprintf(bw, "%s%s %s\n", f.name, formatLabels(s.labels), formatValue(s.value))
		}
		for _, lh := range f.hists {
			cum, sum, n := lh.h.snapshot()
			for i, b := range lh.h.bounds {
				fmt.Fprintf(bw, "%s_bucket%s %d\n", f.name, formatLabels(append(slices.Clone(lh.labels), [2]string{"le", formatValue(b)})), cum[i])
			}
			fmt.Fprintf(bw, "%s_bucket%s %d\n", f.name, formatLabels(append(slices.Clone(lh.labels), [2]string{"le", "+Inf"})), cum[len(cum)-1])
			fmt.Fprintf(bw, "%s_sum%s %s\n", f.name, formatLabels(lh.labels), formatValue(sum))
			fmt.Fprintf(bw, "%s_count%s %d\n", f.name, formatLabels(lh.labels), n)
		}
	}
	return bw.Flush()
}

func formatLabels(ls [][2]string) string {
	if len(ls) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l[0])
		b.WriteString(`="`)
		b.WriteString(escapeLabel(l[1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

// metrics are the daemon's own counters and histograms; gauges and the
// per-camera figures are read from their owners at scrape time.
type metrics struct {
	framesProcessed counter
	faces           counter
	recognizeErrors counter
	detect          *histogram
	embed           *histogram
	match           *histogram

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
	cropErrors       counter
}

func newMetrics() *metrics {
	return &metrics{
		detect: newHistogram(latencyBuckets),
		embed:  newHistogram(latencyBuckets),
		match:  newHistogram(latencyBuckets),
	}
}
