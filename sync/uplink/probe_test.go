package uplink

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dozor-edge/dozor/internal/mosquitto"
	"github.com/dozor-edge/dozor/internal/testenv"
)

// probe runs Probe with a bounded context.
func probe(t *testing.T, cfg Config, pings int) (ProbeResult, error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	res, err := Probe(ctx, cfg, pings)
	return res, err, time.Since(start)
}

// checkRoundTrips fails unless every ping came back, with times that
// fit in the probe's: each positive and none longer than the whole probe
// as the test timed it (took).
func checkRoundTrips(t *testing.T, res ProbeResult, pings int, took time.Duration) {
	t.Helper()
	if !res.Subscribed || res.Sent != pings || res.Received != pings || len(res.RTT) != pings || len(res.PubAck) != pings || res.Lost != "" {
		t.Fatalf("result %+v; want %d pings there and back", res, pings)
	}
	for i := range pings {
		if res.RTT[i] <= 0 || res.RTT[i] > took || res.PubAck[i] <= 0 || res.PubAck[i] > took {
			t.Errorf("ping %d: RTT %v, PUBACK %v, in a probe of %v", i+1, res.RTT[i], res.PubAck[i], took)
		}
	}
	if res.Connect <= 0 || res.Connect > took {
		t.Errorf("connect took %v, in a probe of %v", res.Connect, took)
	}
}

// certNotAfter reads the expiry of the PEM certificate in file.
func certNotAfter(t *testing.T, file string) time.Time {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.NotAfter
}

// writeSecret writes a one-line secret file into dir.
func writeSecret(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProbePlain(t *testing.T) {
	checkLeaks(t)
	b := startBroker(t, brokerConfig{})
	const pings = 10
	res, err, took := probe(t, testConfig("tcp://"+b.addr()), pings)
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrips(t, res, pings, took)
	if res.TLS || res.TLSVersion != "" || !res.CertExpires.IsZero() || res.Broker != "tcp://"+b.addr() {
		t.Errorf("result %+v; want a plain connection to %s", res, b.addr())
	}
	if !strings.Contains(b.b.Log(), "dozor-r1-s1-hwtest") {
		t.Error("the broker log does not show the client ID dozor-r1-s1-hwtest")
	}
	t.Logf("plain broker: connect %v, %d/%d pings back, RTT %v, PUBACK %v, %v in all",
		res.Connect, res.Received, res.Sent, res.RTT, res.PubAck, took.Round(time.Millisecond))
}

func TestProbeRefusesBadArguments(t *testing.T) {
	checkLeaks(t)
	cfg := testConfig("tcp://127.0.0.1:1")
	for _, n := range []int{0, -1, MaxProbePings + 1} {
		if _, err := Probe(context.Background(), cfg, n); err == nil || !strings.Contains(err.Error(), "want 1 to 1000") {
			t.Errorf("%d pings: %v", n, err)
		}
	}
	bad := cfg
	bad.Site = "s/1"
	if _, err := Probe(context.Background(), bad, 1); err == nil || !strings.Contains(err.Error(), "uplink: site:") {
		t.Errorf("invalid site: %v", err)
	}
	missing := cfg
	missing.Username, missing.PasswordFile = testSite, filepath.Join(t.TempDir(), "absent")
	if _, err := Probe(context.Background(), missing, 1); err == nil || !strings.Contains(err.Error(), "password_file") {
		t.Errorf("missing password file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := startBroker(t, brokerConfig{})
	if _, err := Probe(ctx, testConfig("tcp://"+b.addr()), 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestProbeUnreachable(t *testing.T) {
	checkLeaks(t)
	port, err := mosquitto.FreePort() // free a moment ago: nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	// In a bubble, whose clock moves only while everything waits: the
	// refused dial is real, and took is what the probe spent waiting.
	synctest.Test(t, func(t *testing.T) {
		res, err, took := probe(t, testConfig(url), 3)
		if err == nil {
			t.Fatalf("no error for %s; result %+v", url, res)
		}
		if !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), url) {
			t.Errorf("error %q; want connection refused at %s", err, url)
		}
		if took >= probeTimeout {
			t.Errorf("waited %v to find nothing listening; want less than the %v wait", took, probeTimeout)
		}
		t.Logf("unreachable, after waiting %v: %v", took, err)
	})
}

func TestProbePassword(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "passwd")
	writePasswordFile(t, pwFile, map[string]string{testSite: "right-horse-battery"}, false)
	b := startBroker(t, brokerConfig{passwordFile: pwFile})
	cfg := testConfig("tcp://" + b.addr())
	cfg.Username = testSite

	cfg.PasswordFile = writeSecret(t, dir, "right", "right-horse-battery")
	res, err, took := probe(t, cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrips(t, res, 3, took)

	cfg.PasswordFile = writeSecret(t, dir, "wrong", "wrong-pass")
	res, err, _ = probe(t, cfg, 3)
	if err == nil {
		t.Fatalf("connected with a wrong password: %+v", res)
	}
	if !strings.Contains(err.Error(), `broker refused`) || !strings.Contains(err.Error(), `user "s1"`) || !strings.Contains(err.Error(), "password_file") {
		t.Errorf("error %q; want the refused credentials of user s1 and password_file", err)
	}
	if strings.Contains(err.Error(), "wrong-pass") {
		t.Error("the password appears in the error")
	}
	t.Logf("wrong password: %v", err)
}

func TestProbeTLS(t *testing.T) {
	checkLeaks(t)
	k := testenv.NewPKI(t, testSite)
	b := startBroker(t, brokerConfig{caFile: k.CAFile, certFile: k.ServerCert, keyFile: k.ServerKey})
	cfg := testConfig("ssl://" + b.addr())
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = k.CAFile, k.ClientCert, k.ClientKey

	t.Run("right CA", func(t *testing.T) {
		res, err, took := probe(t, cfg, 3)
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrips(t, res, 3, took)
		if !res.TLS || !strings.HasPrefix(res.TLSVersion, "TLS 1.") || res.Broker != "ssl://"+b.addr() {
			t.Errorf("result %+v; want TLS to %s", res, b.addr())
		}
		if want := certNotAfter(t, k.ServerCert); !res.CertExpires.Equal(want) {
			t.Errorf("certificate expires %v; the broker's expires %v", res.CertExpires, want)
		}
		t.Logf("TLS: %s, certificate expires %s, connect %v, RTT %v", res.TLSVersion, res.CertExpires.Format(time.RFC3339), res.Connect, res.RTT)
	})

	t.Run("wrong CA", func(t *testing.T) {
		bad := cfg
		bad.CAFile = k.OtherCA
		res, err, _ := probe(t, bad, 3)
		if err == nil {
			t.Fatalf("connected with the wrong CA: %+v", res)
		}
		for _, want := range []string{"tls: failed to verify certificate", "certificate signed by unknown authority", "ssl://" + b.addr()} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		t.Logf("wrong CA: %v", err)
	})

	t.Run("no client certificate", func(t *testing.T) {
		bad := cfg
		bad.CertFile, bad.KeyFile = "", ""
		_, err, _ := probe(t, bad, 1)
		if err == nil || !strings.Contains(err.Error(), "the broker asks for a client certificate and none is configured") {
			t.Errorf("error %v; want the missing client certificate", err)
		}
	})
}

// TestProbeACL runs the probe against brokers whose ACL lets the site
// use the hwtest topic as TOPICS.md says, and whose ACL lets the site write
// only its sightings.
func TestProbeACL(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "passwd")
	writePasswordFile(t, pwFile, map[string]string{testSite: "pw"}, false)
	aclBroker := func(t *testing.T, acl string) Config {
		b := startBroker(t, brokerConfig{passwordFile: pwFile, aclFile: writeSecret(t, t.TempDir(), "acl", acl)})
		cfg := testConfig("tcp://" + b.addr())
		cfg.Username, cfg.PasswordFile = testSite, writeSecret(t, t.TempDir(), "pw", "pw")
		return cfg
	}

	t.Run("readwrite, as TOPICS.md says", func(t *testing.T) {
		res, err, took := probe(t, aclBroker(t, "pattern write dozor/v1/r1/%u/sighting\npattern readwrite dozor/v1/r1/%u/hwtest\n"), 3)
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrips(t, res, 3, took)
	})

	t.Run("sightings only", func(t *testing.T) {
		const pings = 5
		res, err, took := probe(t, aclBroker(t, "pattern write dozor/v1/r1/%u/sighting\n"), pings)
		if err != nil {
			t.Fatalf("a denied topic is a finding, not an error: %v", err)
		}
		if res.Received != 0 || len(res.RTT) != 0 || res.Lost != "" {
			t.Fatalf("result %+v; want nothing back", res)
		}
		// Mosquitto 2.0 grants the subscription and drops the publishes
		// silently (with a PUBACK): the first ping never comes back, so
		// the rest are not sent. With no error and the connection kept,
		// only the timeout can have ended its wait. A broker that refuses
		// the subscription leaves nothing to wait for: a ping waiting for
		// its echo in vain would stop the rest, so all sent means none
		// waited.
		switch {
		case res.Subscribed && (res.Sent != 1 || len(res.PubAck) != 1):
			t.Errorf("subscribed, %d of %d pings sent, %d acknowledged; want one, given up after its wait", res.Sent, pings, len(res.PubAck))
		case !res.Subscribed && (res.Sent != pings || len(res.PubAck) != pings):
			t.Errorf("not subscribed, %d of %d pings sent, %d acknowledged; want all, without waiting for echoes", res.Sent, pings, len(res.PubAck))
		}
		t.Logf("hwtest not in the ACL: subscribed %v, %d sent, %d back, %d PUBACKs, in %v", res.Subscribed, res.Sent, res.Received, len(res.PubAck), took.Round(time.Millisecond))
	})
}

// TestProbeSubscriptionRefused: a SUBACK with 0x80 (a broker that checks
// its ACL at subscribe time) is reported, and the pings are still timed to
// their PUBACK without waiting for what cannot come back.
func TestProbeSubscriptionRefused(t *testing.T) {
	checkLeaks(t)
	b := startBroker(t, brokerConfig{})
	p := startProxy(t, b.addr(), true)
	p.refuseSubs.Store(true)
	const pings = 4
	res, err, took := probe(t, testConfig("tcp://"+p.addr()), pings)
	if err != nil {
		t.Fatalf("a refused subscription is a finding, not an error: %v", err)
	}
	// A ping that waited in vain for its echo would have stopped the
	// rest: all of them sent means none waited for what cannot come back.
	if res.Subscribed || res.Sent != pings || res.Received != 0 || len(res.PubAck) != pings || res.Lost != "" {
		t.Errorf("result %+v; want the subscription refused, all %d pings sent and acknowledged, none back", res, pings)
	}
	t.Logf("subscription refused: %d pings acknowledged in %v", len(res.PubAck), took.Round(time.Millisecond))
}

// TestProbeConnectionLost: a connection that drops during the pings is a
// finding, with the reason, and the probe returns at once.
func TestProbeConnectionLost(t *testing.T) {
	checkLeaks(t)
	b := startBroker(t, brokerConfig{})
	p := startProxy(t, b.addr(), true)
	p.dropAcks.Store(true) // the first ping waits for its PUBACK, meanwhile the cut
	cut := make(chan struct{})
	go func() {
		defer close(cut)
		select {
		case <-p.published: // the first ping is on its way
			p.cut()
		case <-time.After(10 * time.Second):
			t.Error("no ping reached the proxy within 10s")
		}
	}()
	res, err, took := probe(t, testConfig("tcp://"+p.addr()), 3)
	<-cut // bounded: the goroutine waits at most 10 s
	if err != nil {
		t.Fatalf("a lost connection after connecting is a finding, not an error: %v", err)
	}
	// Lost is set only when the loss, not the timeout, ended a wait.
	if res.Lost == "" || res.Sent != 1 {
		t.Errorf("result %+v after %v; want the connection lost during the first ping", res, took)
	}
	t.Logf("connection cut during the first ping: %q after %v", res.Lost, took.Round(time.Millisecond))
}

// TestProbeBesideUplink: probing the broker of a running uplink with the
// uplink's own configuration leaves the uplink alone: no takeover of its
// connection, no offline status, and it keeps delivering.
func TestProbeBesideUplink(t *testing.T) {
	checkLeaks(t)
	b := startBroker(t, brokerConfig{})
	sub := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/#", "", "")
	ob := backlogOutbox(t, 5)
	cfg := testConfig("tcp://" + b.addr())
	u := runUplink(t, cfg, ob, nil)
	if !waitUntil(10*time.Second, func() bool { return ob.unsent() == 0 && len(sub.seqs()) >= 5 }) {
		t.Fatalf("uplink not delivering; stats %+v", u.Stats())
	}
	before := u.Stats()

	for range 3 {
		res, err, took := probe(t, cfg, 10)
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrips(t, res, 10, took)
	}

	for range 5 {
		ob.add(testMessage(t))
	}
	u.Notify()
	if !waitUntil(10*time.Second, func() bool { return ob.unsent() == 0 && len(sub.seqs()) >= 10 }) {
		t.Fatalf("uplink stopped delivering after the probes; stats %+v", u.Stats())
	}
	checkSequence(t, sub.seqs(), 10)
	after := u.Stats()
	if !after.Connected || after.Connects != before.Connects || after.ConnectAttempts != before.ConnectAttempts || after.LastError != "" {
		t.Errorf("uplink disturbed by the probes:\nbefore %+v\nafter  %+v", before, after)
	}
	for _, s := range sub.statuses() {
		if s.state != "online" {
			t.Errorf("site status %+v published while probing; want only online", s)
		}
	}
	if strings.Contains(b.b.Log(), "already connected") {
		t.Error("the broker log shows a client taken over")
	}
}
