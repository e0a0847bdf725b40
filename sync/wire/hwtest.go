package wire

import "time"

// MaxHWTestPings bounds HWTestPing.N: a hardware test sends a handful of
// pings, and a larger number means a confused sender.
const MaxHWTestPings = MaxCount

// HWTestPing is what the installer's hardware test publishes on the site's
// hwtest topic and reads back from its own subscription, to show that the
// broker takes the box's connection, credentials and ACL and to time the
// round trip. It is not for the region: it never passes through the outbox
// (no seq), nothing but the box itself reads it, and Decode refuses it with
// ErrNotForRegion.
type HWTestPing struct {
	Site string `json:"site"`
	// Nonce is fresh for every ping; the sender matches what comes back by
	// it, so pings of an earlier or a concurrent test are not taken for
	// its own.
	Nonce ID `json:"nonce"`
	// N numbers the pings of one test from 1.
	N  int       `json:"n"`
	At time.Time `json:"at"`
}

// TopicKind implements Payload.
func (HWTestPing) TopicKind() Kind { return KindHWTest }

// MarshalJSON writes the payload with its "v" field.
func (p HWTestPing) MarshalJSON() ([]byte, error) {
	type plain HWTestPing
	return withVersion(plain(p))
}

// Validate implements Payload.
func (p HWTestPing) Validate() error { return p.check(time.Time{}) }

func (p HWTestPing) check(now time.Time) error {
	c := checker{payload: "hwtest", now: now}
	c.segment("site", p.Site)
	c.id("nonce", p.Nonce)
	switch {
	case p.N < 1:
		c.fail("n", "%d; pings are numbered from 1", p.N)
	case p.N > MaxHWTestPings:
		c.fail("n", "%d exceeds %d", p.N, MaxHWTestPings)
	}
	c.time("at", p.At, true)
	return c.err
}

// DecodeHWTestPing reads a hardware-test ping; see DecodeSighting for now.
func DecodeHWTestPing(data []byte, now time.Time) (HWTestPing, error) {
	var p HWTestPing
	if err := decode("hwtest", data, &p); err != nil {
		return HWTestPing{}, err
	}
	if err := p.check(now); err != nil {
		return HWTestPing{}, err
	}
	return p, nil
}
