package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/dozor-edge/dozor/region"
)

// maxHealthBody bounds the /healthz document read: a region of a few
// hundred sites with their gaps stays far below it.
const maxHealthBody = 8 << 20

// statusCmd is `regiond status`: a running regiond's /healthz as a table
// of its sites and its ingest counters. It exits 1 when the region is
// unhealthy or does not answer.
func statusCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("regiond status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8090", "the regiond's HTTP listener (http.listen in its configuration)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: regiond status [-url http://127.0.0.1:8090] [-timeout 5s]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "regiond status: -url: %q is not an http:// or https:// URL\n", *base)
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "regiond status: -timeout: %v is not positive\n", *timeout)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	h, err := fetchHealth(ctx, u.JoinPath("healthz").String())
	if err != nil {
		fmt.Fprintf(stderr, "regiond status: %v\n", err)
		return 1
	}
	printHealth(stdout, h)
	if !h.Healthy {
		return 1
	}
	return 0
}

// fetchHealth reads the /healthz document, which comes with 200 when the
// region is healthy and 503 when it is not.
func fetchHealth(ctx context.Context, u string) (region.Health, error) {
	var h region.Health
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return h, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return h, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHealthBody+1))
	if err != nil {
		return h, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxHealthBody {
		return h, fmt.Errorf("GET %s: the document is larger than %d bytes", u, maxHealthBody)
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return h, fmt.Errorf("GET %s: not a /healthz document: %w", u, err)
	}
	if h.Region == "" {
		return h, fmt.Errorf("GET %s: not a /healthz document: region: missing", u)
	}
	if h.Healthy != (resp.StatusCode == http.StatusOK) {
		// The status code is what a probe sees: trust it over the body.
		h.Healthy = resp.StatusCode == http.StatusOK
	}
	return h, nil
}

// printHealth writes the region's state, its sites and its counters.
func printHealth(w io.Writer, h region.Health) {
	state := "healthy"
	if !h.Healthy {
		state = "UNHEALTHY"
	}
	fmt.Fprintf(w, "region %s: %s (version %s, started %s)\n", h.Region, state, orDash(h.Version), when(h.Started))
	for _, p := range h.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tSTATE\tLAST SEEN\tCAMERAS\tSEQ (CONTIGUOUS/HIGHEST)\tOPEN GAPS\tGALLERY (IN FORCE/ISSUED)")
	for _, s := range h.Sites {
		gaps := "0"
		if len(s.Gaps) > 0 {
			gaps = fmt.Sprintf("%d (%d missing)", len(s.Gaps), s.Missing)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d/%d\t%s\t%s\n", s.ID, orDash(s.State), when(s.LastSeen),
			s.CamerasUp, s.CamerasTotal, s.ContiguousSeq, s.HighestSeq, gaps, galleryCell(s.Gallery))
	}
	tw.Flush()
	if len(h.Sites) == 0 {
		fmt.Fprintln(w, "(no site has been heard from)")
	}
	in := h.Ingest
	fmt.Fprintf(w, "\ningest (%d workers): received %d, stored %d, duplicates %d, quarantined %d, store errors %d, resend requests %d\n",
		in.Workers, in.Received, in.Stored, in.Duplicates, in.Quarantined, in.StoreErrors, in.ResendRequests)
	fmt.Fprintf(w, "stream %s: %d messages, %s pending, %d unacked\n", orDash(h.Stream.Name), h.Stream.Messages,
		strconv.FormatUint(h.Stream.Pending, 10), h.Stream.AckPending)
	if in.LastError != "" {
		fmt.Fprintf(w, "last ingest error (%s): %s\n", when(in.LastErrorAt), in.LastError)
	}
	g := h.Gallery
	fmt.Fprintf(w, "gallery: sent %d revisions (%d full), %d chunks, %d bytes; errors %d\n",
		g.Revisions, g.Full, g.Chunks, g.Bytes, g.Errors)
	if g.PublicKey != "" {
		fmt.Fprintf(w, "gallery signing key: %s\n", g.PublicKey)
	}
	if g.EnrolModel != "" {
		fmt.Fprintf(w, "enrolment at the region: on (model %s)\n", g.EnrolModel)
	} else {
		fmt.Fprintln(w, "enrolment at the region: off (no recognition engine)")
	}
	if g.LastError != "" {
		fmt.Fprintf(w, "last gallery error (%s): %s\n", when(g.LastErrorAt), g.LastError)
	}
}

// galleryCell is a site's gallery revisions: in force/issued, with the
// newest acknowledgement when it was not "applied".
func galleryCell(g *region.SiteGallery) string {
	if g == nil {
		return "—"
	}
	cell := fmt.Sprintf("%d/%d", g.InForce, g.Issued)
	if g.InForce < g.Issued {
		cell += " (behind)"
	}
	if g.LastAckStatus != "" && g.LastAckStatus != "applied" {
		cell += " last ack " + g.LastAckStatus
		if g.LastAckReason != "" {
			cell += ": " + g.LastAckReason
		}
	}
	return cell
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
