package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/internal/testenv"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"
)

const region = "north"

// passwords of the test sites; their bcrypt hashes go into Config.Sites.
var sitePasswords = map[string]string{"ik5": "pw-ik5", "ik6": "pw-ik6", "ik5.a": "pw-ik5-a"}

func testSites(t *testing.T) []SiteAccount {
	t.Helper()
	var out []SiteAccount
	for site, pw := range sitePasswords {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, SiteAccount{Site: site, PasswordHash: string(h)})
	}
	return out
}

func testConfig(t *testing.T) Config {
	return Config{
		Dir:        t.TempDir(),
		Region:     region,
		MQTTListen: "127.0.0.1:0",
		NATSListen: "127.0.0.1:0",
		Sites:      testSites(t),
		Logger:     slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func startBroker(t *testing.T, cfg Config) *Broker {
	t.Helper()
	b, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	return b
}

// service connects as regiond and ensures the region's stream.
func service(t *testing.T, b *Broker, replicas int) (*nats.Conn, jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	nc, err := b.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := EnsureStream(ctx, js, region, replicas)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, s
}

// site is a paho client as the edges configure it: MQTT 3.1.1, a
// persistent session, QoS 1.
func site(t *testing.T, url, user, password, clientID string, tc *tls.Config) (mqtt.Client, error) {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(clientID).
		SetUsername(user).SetPassword(password).
		SetProtocolVersion(4).SetCleanSession(false).
		SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		return nil, errors.New("connect: no CONNACK")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

func mustSite(t *testing.T, b *Broker, user string) mqtt.Client {
	t.Helper()
	// nats-server refuses '.' in an MQTT client ID (it names JetStream
	// assets after it), so a site ID with a dot needs another client ID.
	c, err := site(t, b.MQTTURL(), user, sitePasswords[user], "edge-"+strings.ReplaceAll(user, ".", "_"), nil)
	if err != nil {
		t.Fatalf("site %s: %v", user, err)
	}
	return c
}

// publish1 publishes with QoS 1 and waits for the PUBACK.
func publish1(c mqtt.Client, topic string, retained bool, payload string) error {
	tok := c.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(15 * time.Second) {
		return fmt.Errorf("publish %s: no PUBACK", topic)
	}
	return tok.Error()
}

// next waits for the first message of the stream on subject. In a
// cluster that is electing a leader the consumer's creation or its fetch
// can fail for a while: it is retried until a deadline.
func next(t *testing.T, js jetstream.JetStream, subject string) jetstream.Msg {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		m, err := fetchFirst(js, subject)
		if err == nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s, subject %s: %v", StreamName(region), subject, err)
		}
		t.Logf("retrying the read: %v", err)
		time.Sleep(200 * time.Millisecond)
	}
}

func fetchFirst(js jetstream.JetStream, subject string) (jetstream.Msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, StreamName(region), jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return nil, err
	}
	return cons.Next(jetstream.FetchMaxWait(5 * time.Second))
}

func sighting(site string, seq int) string {
	return fmt.Sprintf(`{"v":1,"id":"0197a3c2-5e10-7b2a-9c1d-2f6e8a4b0c%02d","seq":%d,"site":%q,"camera":"gate-1","track":77}`, seq, seq, site)
}

func TestSitePublishesIntoStream(t *testing.T) {
	b := startBroker(t, testConfig(t))
	_, js, _ := service(t, b, 1)
	c := mustSite(t, b, "ik5")

	if err := publish1(c, "dozor/v1/north/ik5/sighting", false, sighting("ik5", 1)); err != nil {
		t.Fatal(err)
	}
	m := next(t, js, "dozor.v1.north.ik5.sighting")
	if string(m.Data()) != sighting("ik5", 1) {
		t.Errorf("stream payload = %q, want the published bytes", m.Data())
	}
	t.Logf("headers the MQTT listener adds: %v", m.Headers())

	status := `{"v":1,"site":"ik5","state":"online"}`
	if err := publish1(c, "dozor/v1/north/ik5/status", true, status); err != nil {
		t.Fatal(err)
	}
	if m := next(t, js, "dozor.v1.north.ik5.status"); string(m.Data()) != status {
		t.Errorf("status in stream = %q", m.Data())
	}
	if err := publish1(c, "dozor/v1/north/ik5/camera/gate.1/status", true, `{"v":1}`); err != nil {
		t.Fatal(err)
	}
	next(t, js, "dozor.v1.north.ik5.camera.gate//1.status")

	// The retained status is also kept by the MQTT listener itself.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs, err := js.Stream(ctx, "$MQTT_rmsgs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.GetLastMsgForSubject(ctx, "$MQTT.rmsgs.dozor.v1.north.ik5.status"); err != nil {
		t.Errorf("retained status: %v", err)
	}
}

func TestSiteCannotPublishForAnother(t *testing.T) {
	b := startBroker(t, testConfig(t))
	_, js, s := service(t, b, 1)
	c := mustSite(t, b, "ik5")

	// MQTT 3.1.1 has no negative PUBACK: the server drops the message and
	// still acknowledges it, and the connection stays up.
	if err := publish1(c, "dozor/v1/north/ik6/sighting", false, sighting("ik6", 1)); err != nil {
		t.Fatalf("refused publish: %v, want a PUBACK", err)
	}
	if !c.IsConnectionOpen() {
		t.Fatal("connection closed after a refused publish")
	}
	// A later message on the same connection is stored; the refused one,
	// processed before it, is not.
	if err := publish1(c, "dozor/v1/north/ik5/sighting", false, sighting("ik5", 2)); err != nil {
		t.Fatal(err)
	}
	next(t, js, "dozor.v1.north.ik5.sighting")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.GetLastMsgForSubject(ctx, "dozor.v1.north.ik6.sighting"); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Errorf("ik6's subject after ik5 published to it: %v, want not found", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages, want 1", info.State.Msgs)
	}

	// Subscribing to another site's resend topic is refused in the SUBACK.
	tok := c.Subscribe("dozor/v1/north/ik6/resend", 1, func(mqtt.Client, mqtt.Message) {})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if q := tok.(*mqtt.SubscribeToken).Result()["dozor/v1/north/ik6/resend"]; q != 0x80 {
		t.Errorf("SUBACK for another site's resend topic: %#x, want 0x80 (failure)", q)
	}
}

func TestAuthentication(t *testing.T) {
	b := startBroker(t, testConfig(t))
	_, err := site(t, b.MQTTURL(), "ik5", "wrong", "edge-ik5", nil)
	if !errors.Is(err, packets.ErrorRefusedNotAuthorised) && !errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) {
		t.Errorf("wrong password: %v, want a refused CONNACK", err)
	}
	_, err = site(t, b.MQTTURL(), "nobody", "pw", "edge-nobody", nil)
	if err == nil {
		t.Error("unknown user connected")
	}
	// The service user is for NATS only.
	_, pw := b.ServiceCredentials()
	if _, err := site(t, b.MQTTURL(), ServiceUser, pw, "edge-svc", nil); err == nil {
		t.Error("the service user connected over MQTT")
	}
	// A site is for MQTT only.
	if nc, err := nats.Connect(b.ClientURL(), nats.UserInfo("ik5", sitePasswords["ik5"])); err == nil {
		nc.Close()
		t.Error("a site connected over NATS")
	}
	user, pw := b.ServiceCredentials()
	nc, err := nats.Connect(b.ClientURL(), nats.UserInfo(user, pw))
	if err != nil {
		t.Fatalf("service user over %s: %v", b.ClientURL(), err)
	}
	nc.Close()
}

func TestSiteIDWithDotAndResend(t *testing.T) {
	b := startBroker(t, testConfig(t))
	nc, js, _ := service(t, b, 1)
	const id = "ik5.a"
	if _, err := site(t, b.MQTTURL(), id, sitePasswords[id], "edge-ik5.a", nil); !errors.Is(err, packets.ErrorRefusedIDRejected) {
		t.Errorf("client ID with a dot: %v, want identifier rejected", err)
	}
	c := mustSite(t, b, id)

	topic := "dozor/v1/north/ik5.a/sighting"
	if err := publish1(c, topic, false, sighting(id, 1)); err != nil {
		t.Fatal(err)
	}
	subject, err := Subject(topic)
	if err != nil {
		t.Fatal(err)
	}
	m := next(t, js, subject)
	if got, err := Topic(m.Subject()); err != nil || got != topic {
		t.Errorf("Topic(%q) = %q, %v; want %q", m.Subject(), got, err, topic)
	}

	// regiond publishes a resend request on core NATS; the site's MQTT
	// session receives it on its resend topic.
	got := make(chan mqtt.Message, 1)
	resendTopic := "dozor/v1/north/ik5.a/resend"
	tok := c.Subscribe(resendTopic, 1, func(_ mqtt.Client, m mqtt.Message) { got <- m })
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if q := tok.(*mqtt.SubscribeToken).Result()[resendTopic]; q != 1 {
		t.Fatalf("SUBACK granted %#x, want QoS 1", q)
	}
	if want, _ := Subject(resendTopic); ResendSubject(region, id) != want {
		t.Fatalf("ResendSubject = %q, want %q", ResendSubject(region, id), want)
	}
	req := `{"v":1,"site":"ik5.a","from":3,"to":9}`
	if err := nc.Publish(ResendSubject(region, id), []byte(req)); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Topic() != resendTopic || string(m.Payload()) != req {
			t.Errorf("received %q on %q", m.Payload(), m.Topic())
		}
		// A core NATS publish carries no MQTT QoS: it arrives at QoS 0.
		if m.Qos() != 0 {
			t.Errorf("resend request arrived at QoS %d, want 0", m.Qos())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the site did not receive the resend request")
	}
}

func TestTLS(t *testing.T) {
	pki := testenv.NewPKI(t, "ik5")
	cert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	b := startBroker(t, cfg)
	_, js, _ := service(t, b, 1)

	pem, err := os.ReadFile(pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	if got := b.MQTTURL(); got[:6] != "ssl://" {
		t.Fatalf("MQTTURL = %q, want ssl://", got)
	}
	c, err := site(t, b.MQTTURL(), "ik5", sitePasswords["ik5"], "edge-ik5", &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	if err := publish1(c, "dozor/v1/north/ik5/audit", false, `{"v":1}`); err != nil {
		t.Fatal(err)
	}
	next(t, js, "dozor.v1.north.ik5.audit")

	// A client that does not trust the CA is refused.
	other := x509.NewCertPool()
	pem, _ = os.ReadFile(pki.OtherCA)
	other.AppendCertsFromPEM(pem)
	if _, err := site(t, b.MQTTURL(), "ik5", sitePasswords["ik5"], "edge-ik5-b", &tls.Config{RootCAs: other, MinVersion: tls.VersionTLS12}); err == nil {
		t.Error("connected while trusting another CA")
	}
	// NATS clients need TLS too.
	user, pw := b.ServiceCredentials()
	nc, err := nats.Connect(b.ClientURL(), nats.UserInfo(user, pw), nats.Secure(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatalf("NATS over %s: %v", b.ClientURL(), err)
	}
	nc.Close()
}

func TestPersistence(t *testing.T) {
	cfg := testConfig(t)
	b := startBroker(t, cfg)
	service(t, b, 1)
	c := mustSite(t, b, "ik5")
	if err := publish1(c, "dozor/v1/north/ik5/alert", false, `{"v":1,"seq":7}`); err != nil {
		t.Fatal(err)
	}
	c.Disconnect(100)
	b.Shutdown()

	b2 := startBroker(t, cfg)
	_, js, _ := service(t, b2, 1)
	if m := next(t, js, "dozor.v1.north.ik5.alert"); string(m.Data()) != `{"v":1,"seq":7}` {
		t.Errorf("after restart: %q", m.Data())
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestCluster joins three nodes and checks that a message a site
// publishes over MQTT to node 1 is read from the stream at node 3, and
// that with node 2 gone publishing and reading go on.
func TestCluster(t *testing.T) {
	ports := []int{freePort(t), freePort(t), freePort(t)}
	var routes []string
	for _, p := range ports {
		routes = append(routes, "127.0.0.1:"+strconv.Itoa(p))
	}
	nodes := make([]*Broker, 3)
	for i := range nodes {
		cfg := testConfig(t)
		if os.Getenv("BROKER_DEBUG") != "" {
			cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", i+1)
		}
		cfg.ServerName = fmt.Sprintf("n%d", i+1)
		cfg.Cluster = &ClusterConfig{Name: "north", Listen: routes[i], Routes: routes, Password: "route-secret"}
		nodes[i] = startBroker(t, cfg)
	}
	service(t, nodes[0], 3)
	_, js3, _ := service(t, nodes[2], 3)

	s := &clusterSite{t: t, b: nodes[0], js: js3}
	s.c = mustSite(t, nodes[0], "ik5")
	s.publishUntilRead("dozor/v1/north/ik5/sighting", "dozor.v1.north.ik5.sighting", sighting("ik5", 1))

	// One node goes; the other two keep a quorum, elect new leaders where
	// node 2 led, and the site goes on publishing to node 1.
	start := time.Now()
	nodes[1].Shutdown()
	s.publishUntilRead("dozor/v1/north/ik5/audit", "dozor.v1.north.ik5.audit", `{"v":1,"seq":2}`)
	t.Logf("with node 2 down: published and read back in %v (%d publishes)", time.Since(start).Round(time.Millisecond), s.publishes)
}

// clusterSite publishes as a site to one node of a cluster and reads the
// stream through another.
type clusterSite struct {
	t         *testing.T
	b         *Broker
	c         mqtt.Client
	js        jetstream.JetStream
	publishes int
}

// publishUntilRead publishes payload with QoS 1 and reads it back from the
// stream on subject, publishing it again until it is there, within a
// deadline.
//
// A PUBACK comes once the MQTT listener's own stream stored the message,
// not the region's stream (see the package doc): while the stream's
// leader moves to another node the capture can miss the message though
// the site got its PUBACK. The region repairs such a loss by asking the
// site for the sequence gap again; here the site republishes when the
// read finds nothing. A publish that fails (the MQTT listener's own
// streams electing leaders) is retried on a new connection, as the
// uplink does. Elections take seconds, more on a loaded machine: the
// deadline is generous and the loop ends at the first successful read.
func (s *clusterSite) publishUntilRead(topic, subject, payload string) {
	t := s.t
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("%s not read back at node 3 after %d publishes", subject, s.publishes)
		}
		s.publishes++
		if err := publish1(s.c, topic, false, payload); err != nil {
			t.Logf("publishing again on a new connection after: %v", err)
			s.c.Disconnect(0)
			c, err := site(t, s.b.MQTTURL(), "ik5", sitePasswords["ik5"], "edge-ik5", nil)
			if err != nil {
				t.Logf("reconnect: %v", err)
				c = mqtt.NewClient(mqtt.NewClientOptions()) // not connected: the next publish fails at once
			}
			s.c = c
			continue
		}
		// A read that times out may be a consumer created while leaders
		// move, or a message the stream missed: read a few times before
		// publishing again, so that a slow read is not taken for a loss.
		for range 3 {
			m, err := fetchFirst(s.js, subject)
			if err == nil {
				if string(m.Data()) != payload {
					t.Fatalf("node 3 read %q on %s, want %q", m.Data(), subject, payload)
				}
				return
			}
			t.Logf("reading %s: %v", subject, err)
			if time.Now().After(deadline) {
				break
			}
		}
		t.Logf("%s not in the stream: publishing it again", subject)
	}
}

// TestBacklog: the bytes the node holds for a site that does not read
// grow while the region publishes to it, and drain when it reads again;
// a site not connected has no backlog reading.
func TestBacklog(t *testing.T) {
	b := startBroker(t, testConfig(t))
	if _, ok := b.Backlog("ik5"); ok {
		t.Fatal("a backlog for a site that is not connected")
	}
	c := mustSite(t, b, "ik5")
	release := make(chan struct{})
	var once sync.Once
	var read atomic.Int64
	readMore := make(chan struct{}, 1)
	tok := c.Subscribe("dozor/v1/north/ik5/gallery/revision", 1, func(mqtt.Client, mqtt.Message) {
		<-release // the site stops reading: paho's router waits here
		read.Add(1)
		select {
		case readMore <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	// A few bytes (an acknowledgement on its way) may wait at any time.
	const idle = 64 << 10
	if pending, ok := b.Backlog("ik5"); !ok || pending > idle {
		t.Fatalf("an idle site: backlog %d, %v; want at most %d, true", pending, ok, idle)
	}
	nc, _, _ := service(t, b, 1)
	chunk := make([]byte, 256<<10)
	grown, sent := 0, int64(0)
	for ; sent < 200 && grown < 1<<20; sent++ {
		if err := nc.Publish("dozor.v1.north.ik5.gallery.revision", chunk); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		grown, _ = b.Backlog("ik5")
	}
	if grown < 1<<20 {
		t.Fatalf("backlog %d bytes after 50 MiB to a site that reads nothing; want it to grow past 1 MiB", grown)
	}
	once.Do(func() { close(release) })
	// Once the site has read every chunk, nothing of them waits.
	timeout := time.After(30 * time.Second)
	for read.Load() < sent {
		select {
		case <-readMore:
		case <-timeout:
			t.Fatalf("the site read %d of %d chunks in 30s after it read again", read.Load(), sent)
		}
	}
	// The node lowers its count only after its write call returns, which
	// may be after the site has read the bytes: give it a bounded moment.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	settle := time.After(10 * time.Second)
	for {
		pending, ok := b.Backlog("ik5")
		if ok && pending <= idle {
			break
		}
		select {
		case <-tick.C:
		case <-settle:
			t.Fatalf("backlog %d (connected %v) 10s after the site read every chunk; want at most %d", pending, ok, idle)
		}
	}
	t.Logf("a site that stopped reading had %d bytes waiting; they drained once it read", grown)
}
