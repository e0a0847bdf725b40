package uplink

import (
	"context"
	"fmt"
	"slices"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/dozor-edge/dozor/sync/wire"
)

// Limits of the service of resend requests.
const (
	// MaxResendPerRequest bounds the messages one request republishes: a
	// larger range is served up to this many, and the region, whose gap
	// is still open, asks again for the rest.
	MaxResendPerRequest = 10_000
	// resendQueue is how many accepted requests may wait behind the one
	// being served; more are ignored (the region asks again).
	resendQueue = 4
	// resendLogEvery aggregates ignored requests in the log: the first is
	// logged at once, the next ones at most this often, with their count.
	resendLogEvery = time.Minute
)

// resendJob is an accepted request: its messages next..to are still to be
// published. Its fields are guarded by Uplink.mu.
type resendJob struct {
	id       wire.ID
	from, to uint64 // to is capped to MaxResendPerRequest messages
	asked    uint64 // the request's own to, when capped
	next     uint64
	resent   int // acknowledged republications
	unsent   int // messages of the range the outbox has not sent yet
	start    time.Time
}

// resendChunk is the part of the running job published and waiting for
// its PUBACKs; the next part is read only after all of them arrived, so a
// resend proceeds at the pace the broker acknowledges and never holds more
// than Config.Window messages in flight.
type resendChunk struct {
	job  *resendJob // nil: no chunk
	toks []mqtt.Token
	seqs []uint64
	last uint64    // once acknowledged, the job goes on after this seq
	at   time.Time // when it was published, for the ack timeout
}

// waiting returns the first token still without its PUBACK, or nil.
func (c *resendChunk) waiting() (mqtt.Token, uint64) {
	for i, tok := range c.toks {
		select {
		case <-tok.Done():
		default:
			return tok, c.seqs[i]
		}
	}
	return nil, 0
}

// onMessage receives everything the broker delivers to the uplink's
// connection: the region's gallery revision chunks (handed to
// OnGalleryRevision) and the site's resend requests, including those the broker kept
// in the persistent session while the site was away, which arrive before
// the subscription is renewed. It runs on paho's goroutine and never
// blocks: a request is checked and queued for the drain loop.
func (u *Uplink) onMessage(_ mqtt.Client, m mqtt.Message) {
	if u.galleryTopic != "" && m.Topic() == u.galleryTopic {
		u.galleryChunk(m.Payload())
		return
	}
	u.resendRequest(m.Topic(), m.Payload())
}

// resendRequest checks a request received on topic and queues it, or logs
// why it is ignored.
func (u *Uplink) resendRequest(topic string, payload []byte) {
	if topic != u.resendTopic {
		u.ignoreResend(fmt.Errorf("message on %s; the uplink reads only %s", clipString(topic, 200), u.resendTopic))
		return
	}
	msg, err := wire.Decode(topic, payload, u.now())
	if err != nil {
		u.ignoreResend(err)
		return
	}
	req, ok := msg.Payload.(wire.ResendRequest)
	if !ok { // Decode gives a resend topic its own payload; a bug otherwise
		u.ignoreResend(fmt.Errorf("%s: decoded as %T", topic, msg.Payload))
		return
	}
	job := &resendJob{id: req.ID, from: req.From, to: req.To, next: req.From, start: u.now()}
	if req.To-req.From >= MaxResendPerRequest {
		job.to, job.asked = req.From+MaxResendPerRequest-1, req.To
	}

	u.mu.Lock()
	merged, full := u.queueResend(job)
	if !full {
		u.stats.ResendRequests++
	}
	queued := len(u.resendQ)
	u.mu.Unlock()
	switch {
	case full:
		u.ignoreResend(fmt.Errorf("resend %v of %d..%d: %d requests already queued", req.ID, req.From, req.To, queued))
		return
	case merged:
		u.log.Info("resend request already covered by a queued one", "request", req.ID, "from", req.From, "to", req.To)
		return
	}
	args := []any{"request", req.ID, "from", job.from, "to", job.to, "queued", queued}
	if job.asked != 0 {
		args = append(args, "asked_to", job.asked, "note", fmt.Sprintf("at most %d messages a request; the region asks again for the rest", MaxResendPerRequest))
	}
	u.log.Info("the region asks for a range again", args...)
	select {
	case u.resendKick <- struct{}{}:
	default:
	}
}

// queueResend adds job to the queue, u.mu held. A job whose range a queued
// one already covers is merged into it (not added); one that covers a
// waiting job replaces it. full reports that the queue has no room.
func (u *Uplink) queueResend(job *resendJob) (merged, full bool) {
	for _, q := range u.resendQ {
		if job.from >= q.next && job.to <= q.to {
			return true, false
		}
	}
	if len(u.resendQ) > 0 {
		head := u.resendQ[0] // being served: it stays
		u.resendQ = slices.DeleteFunc(u.resendQ, func(q *resendJob) bool {
			return q != head && job.from <= q.next && job.to >= q.to
		})
	}
	if len(u.resendQ) > resendQueue {
		return false, true
	}
	u.resendQ = append(u.resendQ, job)
	return false, false
}

// ignoreResend counts a refused request and logs it, aggregated.
func (u *Uplink) ignoreResend(reason error) {
	now := u.now()
	u.mu.Lock()
	u.stats.ResendIgnored++
	u.badResend.n++
	due := u.badResend.loggedAt.IsZero() || now.Sub(u.badResend.loggedAt) >= resendLogEvery
	n, since := u.badResend.n, u.badResend.loggedAt
	if due {
		u.badResend.n, u.badResend.loggedAt = 0, now
	}
	u.mu.Unlock()
	if !due {
		return
	}
	args := []any{"count", n, "last_reason", clipString(reason.Error(), 300)}
	if !since.IsZero() {
		args = append(args, "since", since.UTC().Format(time.RFC3339))
	}
	u.log.Warn("resend requests ignored", args...)
}

// serveResend moves the running resend on: once the chunk in flight is
// acknowledged, it reads and publishes the next, finishing jobs as their
// ranges run out. It returns with a chunk waiting for PUBACKs or with
// nothing left to do; storeFailed reports an outbox error (logged), after
// which the caller waits before trying again. An error ends the session.
//
// Only messages the outbox has marked sent are published: the region is
// asking again for what it should have had. An unsent one is the drain's,
// which publishes it in its turn; publishing it here would put it ahead of
// the unsent messages before it.
func (u *Uplink) serveResend(ctx context.Context, client mqtt.Client, c *resendChunk) (storeFailed bool, err error) {
	size := max(1, u.cfg.Window)
	for {
		if c.job != nil {
			if tok, _ := c.waiting(); tok != nil {
				return false, nil
			}
			for i, tok := range c.toks {
				if err := tok.Error(); err != nil {
					return false, fmt.Errorf("resend seq %d: %w", c.seqs[i], err)
				}
			}
			u.mu.Lock()
			c.job.next, c.job.resent = c.last+1, c.job.resent+len(c.toks)
			u.mu.Unlock()
			*c = resendChunk{}
		}

		u.mu.Lock()
		var job *resendJob
		var next, to uint64
		if len(u.resendQ) > 0 {
			job = u.resendQ[0]
			next, to = job.next, job.to
			if next > to {
				u.resendQ = append(u.resendQ[:0], u.resendQ[1:]...)
			}
		}
		u.mu.Unlock()
		switch {
		case job == nil:
			return false, nil
		case next > to:
			u.finishResend(job)
			continue
		}

		msgs, err := u.outbox.Range(ctx, next, to, size)
		if err != nil {
			if ctx.Err() == nil {
				u.storeTrouble("read a range the region asked for", err)
			}
			return true, nil
		}
		if len(msgs) > size {
			return false, fmt.Errorf("outbox returned %d messages of a range for a limit of %d", len(msgs), size)
		}
		c.job, c.last, c.at = job, to, u.now()
		if len(msgs) == size {
			c.last = msgs[len(msgs)-1].Seq
		}
		prev, unsent := next-1, 0
		for _, m := range msgs {
			if m.Seq <= prev || m.Seq > to {
				return false, fmt.Errorf("outbox returned seq %d for the range %d..%d after seq %d; Range must return ascending seqs within the range", m.Seq, next, to, prev)
			}
			prev = m.Seq
			switch {
			case !m.Sent:
				unsent++
			case u.unpublishable(m) != "":
				// Skipped (and logged) when the drain met it; still not
				// publishable.
			default:
				c.toks = append(c.toks, client.Publish(m.Topic, 1, false, m.Payload))
				c.seqs = append(c.seqs, m.Seq)
			}
		}
		u.mu.Lock()
		job.unsent += unsent
		u.stats.ResentOnRequest += uint64(len(c.toks))
		u.mu.Unlock()
	}
}

// finishResend logs a served request.
func (u *Uplink) finishResend(job *resendJob) {
	u.mu.Lock()
	args := []any{"request", job.id, "from", job.from, "to", job.to, "resent", job.resent,
		"took", u.now().Sub(job.start).Round(time.Millisecond)}
	if job.unsent > 0 {
		args = append(args, "not_sent_yet", job.unsent)
	}
	u.mu.Unlock()
	u.log.Info("range published again", args...)
}

// subscribeResend renews the subscription to the site's resend topic after
// a connect and waits for the broker's answer. A refusal is logged, not
// fatal: the outbox still drains, and the region's requests go unanswered
// until the ACL has the resend line.
func (u *Uplink) subscribeResend(ctx context.Context, bc *brokerConn) error {
	refused, err := u.subscribe(ctx, bc, u.resendTopic)
	if refused {
		u.log.Error("the broker refused the subscription to the region's resend requests; gaps the region finds will not be repaired (the site's ACL needs a read line for its resend topic)",
			"topic", u.resendTopic)
	}
	return err
}

// subscribe subscribes to topic with QoS 1 and waits for the SUBACK.
// Messages go to onMessage, the connection's default handler, which also
// receives those the broker kept in the persistent session while the site
// was away. refused reports a SUBACK that refused the topic (an ACL
// without its read line).
func (u *Uplink) subscribe(ctx context.Context, bc *brokerConn, topic string) (refused bool, err error) {
	tok := bc.client.Subscribe(topic, 1, nil) // nil: onMessage, the default handler
	timer := time.NewTimer(u.cfg.AckTimeout)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false, nil
	case <-bc.lost:
		return false, fmt.Errorf("connection lost before the subscription to %s was acknowledged: %w", topic, bc.lostErr)
	case <-timer.C:
		return false, fmt.Errorf("no SUBACK for %s within %v", topic, u.cfg.AckTimeout)
	case <-tok.Done():
	}
	if err := tok.Error(); err != nil {
		return false, fmt.Errorf("subscribe to %s: %w", topic, err)
	}
	st, ok := tok.(*mqtt.SubscribeToken)
	return ok && st.Result()[topic] >= 0x80, nil
}
