package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// KindCount is what was published of one kind.
type KindCount struct {
	Kind string `json:"kind"`
	// Sent counts distinct messages, each once however often it was
	// published; Acked those whose PUBACK came; Republished the extra
	// publishes after a reconnect.
	Sent        uint64 `json:"sent"`
	Acked       uint64 `json:"acked"`
	Republished uint64 `json:"republished"`
}

// Report is the outcome of a run, exact to the message.
type Report struct {
	Region string  `json:"region"`
	Sites  int     `json:"sites"`
	Rate   float64 `json:"rate_peak"`
	Burst  bool    `json:"burst"`
	// Offered is how long the load was offered; Elapsed adds the wait
	// for the last PUBACKs.
	Offered    time.Duration `json:"offered_ns"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	Kinds      []KindCount   `json:"kinds"`
	Total      KindCount     `json:"total"`
	Reconnects int           `json:"reconnects"`
	// Seqs is each site's highest seq: every seq from 1 to it was sent.
	Seqs map[string]uint64 `json:"seqs"`
	// Errors are the sites that stopped on an error, by site.
	Errors map[string]string `json:"errors,omitempty"`
}

func report(cfg Config, sites []*siteRun, offered, elapsed time.Duration) Report {
	r := Report{
		Region: cfg.Region, Sites: len(sites), Rate: cfg.Schedule.Rate, Burst: cfg.Schedule.Burst,
		Offered: offered, Elapsed: elapsed, Seqs: make(map[string]uint64, len(sites)),
		Total: KindCount{Kind: "total"},
	}
	r.Kinds = make([]KindCount, len(kindSlots))
	for i, k := range kindSlots {
		r.Kinds[i].Kind = k.String()
	}
	for _, s := range sites {
		for i, c := range s.counts {
			r.Kinds[i].Sent += c.Sent
			r.Kinds[i].Acked += c.Acked
			r.Kinds[i].Republished += c.Republished
		}
		r.Reconnects += s.reconnects
		r.Seqs[s.login.ID] = s.gen.seq
		if s.err != nil {
			if r.Errors == nil {
				r.Errors = map[string]string{}
			}
			r.Errors[s.login.ID] = s.err.Error()
		}
	}
	for _, k := range r.Kinds {
		r.Total.Sent += k.Sent
		r.Total.Acked += k.Acked
		r.Total.Republished += k.Republished
	}
	return r
}

// Unacked is how many messages never got their PUBACK.
func (r Report) Unacked() uint64 { return r.Total.Sent - r.Total.Acked }

// WriteTable prints the report for people.
func (r Report) WriteTable(w io.Writer) error {
	mode := "steady"
	if r.Burst {
		mode = fmt.Sprintf("bursts (%v cycle, half at the peak, half at a tenth)", BurstPeriod)
	}
	sec := r.Offered.Seconds()
	fmt.Fprintf(w, "region %s: %d sites, peak %.0f msg/s, %s, offered for %v (%v with the last PUBACKs), %d reconnects\n",
		r.Region, r.Sites, r.Rate, mode, r.Offered.Round(time.Millisecond), r.Elapsed.Round(time.Millisecond), r.Reconnects)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tsent\tacked\trepublished\tsent/s\t")
	for _, k := range append(r.Kinds, r.Total) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t\n", k.Kind, k.Sent, k.Acked, k.Republished, float64(k.Sent)/sec)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for site, e := range r.Errors {
		fmt.Fprintf(w, "site %s stopped: %s\n", site, e)
	}
	return nil
}

// WriteJSON prints the report as one JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
