package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/dozor-edge/dozor/region/broker"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/wire"
)

// repairGaps reads the open gaps every GapInterval until ctx ends and asks
// the sites for the messages that are overdue.
func (i *Ingester) repairGaps(ctx context.Context) {
	t := time.NewTicker(i.cfg.GapInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := i.checkGaps(ctx); err != nil && ctx.Err() == nil {
				i.noteError(err)
				i.gapErrs.add(err)
			}
		}
	}
}

func (i *Ingester) checkGaps(ctx context.Context) error {
	sites, err := i.st.Sites(ctx)
	if err != nil {
		return fmt.Errorf("gaps: list sites: %w", err)
	}
	for _, s := range sites {
		if s.OpenGaps == 0 {
			continue
		}
		gaps, err := i.st.Gaps(ctx, s.ID)
		if err != nil {
			return fmt.Errorf("gaps: site %s: %w", s.ID, err)
		}
		for _, g := range gaps {
			now := i.cfg.Now()
			if !i.due(g, now) {
				continue
			}
			if err := i.requestResend(ctx, s.ID, g, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// due reports whether a gap should be asked for now: it has been open
// ResendAfter, and the wait since the last request, which doubles with each
// request up to MaxResendBackoff, has passed.
func (i *Ingester) due(g store.Gap, now time.Time) bool {
	if now.Sub(g.FirstSeen) < i.cfg.ResendAfter {
		return false
	}
	return g.Requested == 0 || now.Sub(g.LastRequest) >= resendBackoff(i.cfg.ResendAfter, g.Requested)
}

// resendBackoff is the wait after the n-th request for a gap.
func resendBackoff(base time.Duration, n int) time.Duration {
	d := base
	for k := 1; k < n && d < MaxResendBackoff; k++ {
		d *= 2
	}
	return min(d, MaxResendBackoff)
}

// requestResend publishes one request for the gap, at most MaxResendRange
// seqs from its start (the rest stays a gap and is asked for once these
// arrive), and records it.
func (i *Ingester) requestResend(ctx context.Context, site string, g store.Gap, now time.Time) error {
	id, err := wire.NewID()
	if err != nil {
		return fmt.Errorf("gaps: request id: %w", err)
	}
	req := wire.ResendRequest{ID: id, Site: site, From: g.From, To: min(g.To, g.From+wire.MaxResendRange-1), At: now}
	data, err := wire.Encode(req)
	if err != nil {
		return fmt.Errorf("gaps: site %s %d..%d: %w", site, g.From, g.To, err)
	}
	topic, err := wire.ResendTopic(i.cfg.Region, site)
	if err != nil {
		return fmt.Errorf("gaps: %w", err)
	}
	subject, err := broker.Subject(topic)
	if err != nil {
		return fmt.Errorf("gaps: %w", err)
	}
	// Core NATS reaches the site's MQTT subscription (QoS 1 on the site's
	// side); a request that is lost is repeated after the backoff.
	if err := i.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("gaps: publish %s: %w", subject, err)
	}
	if err := i.st.NoteResendRequested(ctx, site, g, now); err != nil {
		return fmt.Errorf("gaps: site %s %d..%d: note request: %w", site, g.From, g.To, err)
	}
	i.count(func(s *Stats) { s.ResendRequests++ })
	i.log.Info("asked a site to resend a gap", "site", site, "from", req.From, "to", req.To, "open_since", g.FirstSeen, "requests", g.Requested+1, "id", id)
	return nil
}
