package hwtest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dozor-edge/dozor/internal/stats"
	"github.com/dozor-edge/dozor/sync/uplink"
)

// UplinkReport is the connection to the regional broker.
type UplinkReport struct {
	Broker      string        `json:"broker"`
	Connected   bool          `json:"connected"`
	Error       string        `json:"error,omitempty"`
	TLS         bool          `json:"tls"`
	TLSVersion  string        `json:"tls_version,omitempty"`
	CertExpires time.Time     `json:"cert_expires,omitzero"`
	Connect     time.Duration `json:"connect_ns"`
	Subscribed  bool          `json:"subscribed"`
	Sent        int           `json:"sent"`
	Received    int           `json:"received"`
	RTTMedian   time.Duration `json:"rtt_median_ns"`
	RTTMax      time.Duration `json:"rtt_max_ns"`
}

const (
	warnRTT        = 500 * time.Millisecond // alerts reach the region noticeably late
	warnCertExpiry = 30 * 24 * time.Hour
)

// checkUplink connects to the broker exactly as the daemon does (same
// TLS, credentials and dialling code) and measures a publish/subscribe
// round trip on the site's own hwtest topic.
func (t *tester) checkUplink(ctx context.Context, r *Report) {
	const sec = "uplink"
	ucfg := t.cfg.UplinkConfig()
	if t.opt.Uplink != nil {
		t.opt.Uplink(&ucfg)
	}
	r.Uplink.Broker = uplink.Redact(t.cfg.Uplink.Broker)
	// Each broker may take the connect timeout, and the subscription and
	// every ping up to 5 s each.
	ctx, cancel := context.WithTimeout(ctx, ucfg.ConnectTimeout*time.Duration(len(ucfg.Brokers))+time.Duration(t.opt.Pings+1)*5*time.Second)
	defer cancel()
	res, err := uplink.Probe(ctx, ucfg, t.opt.Pings)
	if err != nil {
		r.Uplink.Error = err.Error()
		r.add(Check{Section: sec, Name: "broker", Verdict: Fail, Value: err.Error(), Fix: uplinkFix(err, r.Uplink.Broker)})
		return
	}
	u := &r.Uplink
	u.Connected, u.TLS, u.TLSVersion, u.CertExpires = true, res.TLS, res.TLSVersion, res.CertExpires
	u.Connect, u.Subscribed, u.Sent, u.Received = res.Connect, res.Subscribed, res.Sent, res.Received
	if len(res.RTT) > 0 {
		u.RTTMedian, u.RTTMax = stats.Percentile(res.RTT, 0.5), slices.Max(res.RTT)
	}

	conn := Check{Section: sec, Name: "broker", Verdict: Pass, Value: fmt.Sprintf("%s connected in %s", u.Broker, ms(u.Connect))}
	if u.TLS {
		conn.Value += ", " + u.TLSVersion
		if !u.CertExpires.IsZero() {
			conn.Value += ", certificate valid until " + u.CertExpires.UTC().Format("2006-01-02")
			if u.CertExpires.Sub(t.now()) < warnCertExpiry {
				conn.Verdict = Warn
				conn.Fix = "the broker's certificate expires within 30 days: ask the region to renew it, or every box in the region goes silent"
			}
		}
	} else {
		conn.Value += ", no TLS"
		if !isLoopbackBroker(t.cfg.Uplink.Broker) {
			conn.Verdict = Warn
			conn.Fix = "events and face crops cross the network unencrypted: use ssl://host:8883 with uplink.ca_file"
		}
	}
	if ucfg.Username == "" && !isLoopbackBroker(t.cfg.Uplink.Broker) && ucfg.CertFile == "" {
		conn.Verdict = worst(conn.Verdict, Warn)
		if conn.Fix == "" {
			conn.Fix = "the broker accepts this box without credentials: any device on the network could publish as this site; ask the region for a user (uplink.username, password_file) or a client certificate"
		}
	}
	r.add(conn)

	rt := Check{Section: sec, Name: "round trip", Verdict: Pass}
	switch {
	case !u.Subscribed:
		rt.Verdict = Warn
		rt.Value = fmt.Sprintf("the broker refused the subscription to the site's hwtest topic (%d pings published)", u.Sent)
		rt.Fix = "the broker's ACL lacks the hardware test topic: add `pattern readwrite dozor/v1/<region>/%u/hwtest` (see sync/wire/TOPICS.md); events still flow"
	case res.Lost != "":
		rt.Verdict = Warn
		rt.Value = fmt.Sprintf("the broker dropped the connection during the pings (%d of %d back): %s", u.Received, u.Sent, res.Lost)
		rt.Fix = "the broker disconnects this box when it publishes to the hwtest topic (an ACL that denies it): add `pattern readwrite dozor/v1/<region>/%u/hwtest`; if events are also cut off, check that the site may write its event topics"
	case u.Received == 0:
		rt.Verdict = Warn
		rt.Value = fmt.Sprintf("none of %d pings came back", u.Sent)
		rt.Fix = "the broker accepts publishes but drops them (an ACL that denies the topic): add `pattern readwrite dozor/v1/<region>/%u/hwtest` and check that the site may write its event topics"
	default:
		rt.Value = fmt.Sprintf("publish to delivery median %s, max %s (%d of %d pings)", ms(u.RTTMedian), ms(u.RTTMax), u.Received, u.Sent)
		switch {
		case u.Received < u.Sent:
			rt.Verdict = Warn
			rt.Fix = "some pings were lost or late: the link to the region is unreliable; the outbox resends, but alerts arrive late"
		case u.RTTMedian > warnRTT:
			rt.Verdict = Warn
			rt.Fix = "the link to the region is slow: alerts reach the region over half a second late; check the WAN link or the VPN"
		}
	}
	r.add(rt)
}
