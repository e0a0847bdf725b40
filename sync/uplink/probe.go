package uplink

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/dozor-edge/dozor/sync/wire"
)

// ProbeResult is what Probe found out about the uplink's broker.
type ProbeResult struct {
	Broker      string        // redacted URL of the broker that answered
	TLS         bool          // the connection is TLS
	TLSVersion  string        // "TLS 1.3", ...; empty without TLS
	CertExpires time.Time     // the broker's leaf certificate's NotAfter; zero without TLS
	Connect     time.Duration // dial, TLS handshake and CONNECT/CONNACK
	// Subscribed is false when the broker refused the subscription to the
	// hwtest topic (SUBACK 0x80: the ACL does not let the site read it) or
	// did not answer it in time.
	Subscribed bool
	// Sent counts the pings published, Received those read back. Received
	// below Sent with Subscribed true usually means the broker drops the
	// site's publishes to the hwtest topic (Mosquitto does so silently when
	// the ACL denies them).
	Sent, Received int
	RTT            []time.Duration // publish -> own ping read back, per ping read back, in ping order
	PubAck         []time.Duration // publish -> PUBACK, per ping acknowledged, in ping order
	// Lost is why the connection ended during the probe (some brokers
	// disconnect a client that publishes where the ACL denies it); empty
	// when it stayed up.
	Lost string
}

// MaxProbePings bounds Probe's pings argument.
const MaxProbePings = 1000

const (
	// probeTimeout bounds the wait for the SUBACK and, per ping, for its
	// PUBACK and its way back.
	probeTimeout = 5 * time.Second
	// probeMisses is how many pings in a row may go unanswered before the
	// rest are not sent: by then the broker is dropping them, and every
	// further ping would only add probeTimeout to the wait.
	probeMisses = 3
	// probeSuffix makes the probe's client ID differ from the daemon's, so
	// the broker does not take the running daemon's connection over.
	probeSuffix = "-hwtest"
)

// Probe checks the uplink's broker with the uplink's own connection code:
// it connects the way the daemon does (same brokers in order, TLS
// settings, client certificate, credentials and timeouts), subscribes with
// QoS 1 to the site's hwtest topic (wire.HWTestTopic), publishes pings
// QoS 1 one after another and times each until its PUBACK and until it is
// read back, matched by its nonce. It waits up to 5 s per ping, less when
// ctx ends sooner; a ping unanswered while none has come back yet, or the
// third unanswered in a row, ends the pings early. At worst it takes
// ConnectTimeout per broker, 5 s for the SUBACK and 5 s per ping.
//
// The probe cannot disturb a daemon running with the same configuration:
// its client ID is the daemon's with "-hwtest" appended, its session is
// clean (the daemon's persistent session is never touched), it registers
// no last will (the site's status stays as it is) and it ends with a
// DISCONNECT.
//
// Probe returns an error when cfg is invalid, pings is outside 1 to
// MaxProbePings, or it could not connect; a connection failure reads as
// the uplink's own would (refused credentials, not authorised, the
// broker's certificate failing verification, unreachable). A refused
// subscription, pings that do not come back and a connection lost halfway
// are findings, reported in the result with a nil error. When ctx ends
// during the pings the result so far comes back with ctx's cause.
func Probe(ctx context.Context, cfg Config, pings int) (ProbeResult, error) {
	if err := cfg.Validate(); err != nil {
		return ProbeResult{}, err
	}
	if pings < 1 || pings > MaxProbePings {
		return ProbeResult{}, fmt.Errorf("uplink: probe: %d pings; want 1 to %d", pings, MaxProbePings)
	}
	topic, err := wire.HWTestTopic(cfg.Region, cfg.Site)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("uplink: probe: %w", err)
	}
	bc, err := cfg.connect(ctx, connParams{clientID: cfg.clientID() + probeSuffix, cleanSession: true})
	if err != nil {
		return ProbeResult{}, err
	}
	defer bc.close()

	res := ProbeResult{Broker: bc.broker, Connect: bc.took}
	if bc.tls != nil {
		res.TLS = true
		res.TLSVersion = tls.VersionName(bc.tls.Version)
		if len(bc.tls.PeerCertificates) > 0 {
			res.CertExpires = bc.tls.PeerCertificates[0].NotAfter
		}
	}
	e := &echoes{site: cfg.Site, arrived: map[wire.ID]time.Time{}, kick: make(chan struct{}, 1)}
	w := &waiter{ctx: ctx, bc: bc, timer: time.NewTimer(probeTimeout)}
	defer w.timer.Stop()

	sub := bc.client.Subscribe(topic, 1, e.handle)
	if w.wait(sub.Done(), nil) {
		if err := sub.Error(); err != nil {
			w.failed()
		} else if st, ok := sub.(*mqtt.SubscribeToken); ok {
			q, granted := st.Result()[topic]
			res.Subscribed = granted && q <= 2 // 0x80 is the refusal
		}
	}

	type ping struct {
		nonce wire.ID
		at    time.Time
	}
	var sent []ping
	answered, misses := 0, 0
	for n := 1; n <= pings && !w.over(); n++ {
		nonce, err := wire.NewID()
		if err != nil {
			return res, fmt.Errorf("uplink: probe: %w", err)
		}
		payload, err := wire.Encode(wire.HWTestPing{Site: cfg.Site, Nonce: nonce, N: n, At: time.Now().UTC()})
		if err != nil {
			return res, fmt.Errorf("uplink: probe: %w", err)
		}
		e.expect(nonce)
		w.reset()
		at := time.Now()
		tok := bc.client.Publish(topic, 1, false, payload)
		sent = append(sent, ping{nonce, at})
		res.Sent++
		acked, ackOK := tok.Done(), false
		// Without the subscription nothing comes back: only the PUBACK is
		// worth waiting for.
		echoed := !res.Subscribed
		for (acked != nil || !echoed) && w.wait(acked, e.kick) {
			select {
			case <-acked:
				acked = nil
				if tok.Error() != nil {
					w.failed()
					continue
				}
				res.PubAck = append(res.PubAck, time.Since(at))
				ackOK = true
			default:
			}
			echoed = echoed || e.back(nonce)
		}
		if ackOK && echoed {
			answered++
			misses = 0
			continue
		}
		misses++
		if answered == 0 || misses >= probeMisses {
			break
		}
	}

	// Matched only now, so that a ping read back after its wait was over
	// still counts.
	for _, p := range sent {
		if back, ok := e.at(p.nonce); ok {
			res.Received++
			res.RTT = append(res.RTT, back.Sub(p.at))
		}
	}
	if w.lost {
		res.Lost = fmt.Sprintf("connection lost: %v", bc.lostErr)
	}
	if w.err != nil {
		return res, fmt.Errorf("uplink: probe cut short after %d of %d pings: %w", res.Sent, pings, w.err)
	}
	return res, nil
}

// waiter waits on the probe's behalf, each wait bounded by probeTimeout
// from the last reset, and remembers why a wait ended early.
type waiter struct {
	ctx     context.Context
	bc      *brokerConn
	timer   *time.Timer
	expired bool  // the timer fired since the last reset
	lost    bool  // the connection is lost
	err     error // ctx's cause, once ctx has ended
}

// reset starts the next wait's timeout.
func (w *waiter) reset() {
	w.timer.Reset(probeTimeout)
	w.expired = false
}

// wait reports true when a or b is ready (a nil channel never is), false
// at the timeout, the loss of the connection or the end of ctx, and at
// once when one of those has already happened.
func (w *waiter) wait(a, b <-chan struct{}) bool {
	if w.expired || w.over() {
		return false
	}
	select {
	case <-a:
		return true
	case <-b:
		return true
	case <-w.timer.C:
		w.expired = true
	case <-w.bc.lost:
		w.lost = true
	case <-w.ctx.Done():
		w.err = context.Cause(w.ctx)
	}
	return false
}

// failed follows a token that completed with an error. paho fails tokens
// only when the connection goes, and reports the loss (with its reason)
// just after: wait for that report, within the timeout.
func (w *waiter) failed() { w.wait(nil, nil) }

func (w *waiter) over() bool { return w.lost || w.err != nil }

// echoes collects the pings read back, by nonce.
type echoes struct {
	site    string
	mu      sync.Mutex
	arrived map[wire.ID]time.Time // the probe's nonces; zero until read back
	kick    chan struct{}         // a ping was read back; capacity 1
}

// expect registers a nonce about to be sent; only registered nonces are
// recorded, so pings of another probe on the same topic are not taken for
// this one's.
func (e *echoes) expect(nonce wire.ID) {
	e.mu.Lock()
	e.arrived[nonce] = time.Time{}
	e.mu.Unlock()
}

// handle runs in paho's router for every message on the hwtest topic.
func (e *echoes) handle(_ mqtt.Client, m mqtt.Message) {
	now := time.Now()
	p, err := wire.DecodeHWTestPing(m.Payload(), now)
	if err != nil || p.Site != e.site {
		return
	}
	e.mu.Lock()
	t, ours := e.arrived[p.Nonce]
	if ours && t.IsZero() {
		e.arrived[p.Nonce] = now
	}
	e.mu.Unlock()
	if ours {
		select {
		case e.kick <- struct{}{}:
		default:
		}
	}
}

// at is when the ping with nonce was read back.
func (e *echoes) at(nonce wire.ID) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.arrived[nonce]
	return t, !t.IsZero()
}

func (e *echoes) back(nonce wire.ID) bool {
	_, ok := e.at(nonce)
	return ok
}
