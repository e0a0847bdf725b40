package wire

import "time"

// MaxResendRange bounds a ResendRequest: To - From is below it. A region
// that misses more asks in several requests, so that one request never
// makes a site read and publish an unbounded part of its outbox.
const MaxResendRange = 100_000

// ResendRequest is the region asking a site to publish the outbox messages
// with From <= seq <= To again, because it found them missing. The site
// republishes the messages it still keeps exactly as it first sent them
// (same topic and payload); the region stores each (site, seq) once, so a
// copy it already holds is dropped as a repeat.
type ResendRequest struct {
	// ID names the request in both sides' logs; a new request (a retry
	// included) gets a new one.
	ID   ID     `json:"id"`
	Site string `json:"site"`
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	// At is when the region made the request.
	At time.Time `json:"at"`
}

// TopicKind implements Payload.
func (ResendRequest) TopicKind() Kind { return KindResend }

// MarshalJSON writes the payload with its "v" field.
func (r ResendRequest) MarshalJSON() ([]byte, error) {
	type plain ResendRequest
	return withVersion(plain(r))
}

// Validate implements Payload.
func (r ResendRequest) Validate() error { return r.check(time.Time{}) }

func (r ResendRequest) check(now time.Time) error {
	c := checker{payload: "resend", now: now}
	c.id("id", r.ID)
	c.segment("site", r.Site)
	c.seq("from", r.From)
	c.seq("to", r.To)
	switch {
	case c.err != nil:
	case r.To < r.From:
		c.fail("to", "%d is below from %d", r.To, r.From)
	case r.To-r.From >= MaxResendRange:
		c.fail("to", "the range %d..%d holds %d messages, more than %d in one request", r.From, r.To, r.To-r.From+1, MaxResendRange)
	}
	c.time("at", r.At, true)
	return c.err
}

// DecodeResendRequest reads a resend request; see DecodeSighting for now.
func DecodeResendRequest(data []byte, now time.Time) (ResendRequest, error) {
	var r ResendRequest
	if err := decode("resend", data, &r); err != nil {
		return ResendRequest{}, err
	}
	if err := r.check(now); err != nil {
		return ResendRequest{}, err
	}
	return r, nil
}
