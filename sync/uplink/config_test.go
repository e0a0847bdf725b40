package uplink

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/sync/wire"
)

func TestConfigValidate(t *testing.T) {
	good := testConfig("tcp://127.0.0.1:1883")
	tlsGood := testConfig("ssl://broker.region.local:8883")
	tlsGood.CAFile, tlsGood.CertFile, tlsGood.KeyFile = "ca.pem", "c.pem", "c.key"
	cases := []struct {
		name string
		edit func(c *Config)
		err  string // "" for valid
	}{
		{"defaults with broker and site", func(c *Config) {}, ""},
		{"TLS with client certificate", func(c *Config) { *c = tlsGood }, ""},
		{"two brokers, mqtt schemes", func(c *Config) { c.Brokers = []string{"mqtt://a:1883", "mqtts://b:8883"}; c.CAFile = "ca.pem" }, ""},
		{"username and password file", func(c *Config) { c.Username, c.PasswordFile = "s1", "/run/secrets/mqtt" }, ""},
		{"username alone", func(c *Config) { c.Username = "s1" }, ""},
		{"explicit client ID", func(c *Config) { c.ClientID = "box-7.north" }, ""},
		{"no broker", func(c *Config) { c.Brokers = nil }, "uplink: brokers: at least one broker URL is required"},
		{"http scheme", func(c *Config) { c.Brokers = []string{"http://a:80"} }, `uplink: brokers[0]: http://a:80: scheme "http"; want tcp://host:port or ssl://host:port`},
		{"no port", func(c *Config) { c.Brokers = []string{"tcp://broker"} }, "brokers[0]: tcp://broker: want host:port after the scheme"},
		{"path", func(c *Config) { c.Brokers = []string{"tcp://a:1/x"} }, "brokers[0]: tcp://a:1/x: a broker URL has no path"},
		{"password in URL", func(c *Config) { c.Brokers = []string{"tcp://s1:hunter2@a:1883"} }, "brokers[0]: tcp://s1:xxxxx@a:1883: holds credentials; use username and password_file"},
		{"unparsable URL", func(c *Config) { c.Brokers = []string{"tcp://a b:1:2\x7f"} }, "brokers[0]: tcp://<unparsable>: not a URL"},
		{"CA without TLS broker", func(c *Config) { c.CAFile = "ca.pem" }, "uplink: ca_file: set, but no broker uses ssl://"},
		{"insecure without TLS broker", func(c *Config) { c.InsecureSkipVerify = true }, "insecure_skip_verify: set, but no broker uses ssl://"},
		{"cert without key", func(c *Config) { *c = tlsGood; c.KeyFile = "" }, "cert_file: cert_file and key_file go together"},
		{"password file without username", func(c *Config) { c.PasswordFile = "/run/secrets/mqtt" }, "username: required when password_file is set"},
		{"username with newline", func(c *Config) { c.Username = "s1\nx" }, "username: must be at most 256 bytes"},
		{"region missing", func(c *Config) { c.Region = "" }, "uplink: region: empty"},
		{"site wildcard", func(c *Config) { c.Site = "s+" }, "uplink: site: contains '+', an MQTT wildcard"},
		{"client ID with space", func(c *Config) { c.ClientID = "box 7" }, `client_id: "box 7": allowed are`},
		{"keep alive zero", func(c *Config) { c.KeepAlive = 0 }, "keep_alive: 0s must be between 1s and 10m0s"},
		{"window zero", func(c *Config) { c.Window = 0 }, "window: 0 must be between 1 and 1000"},
		{"backoff inverted", func(c *Config) { c.MinBackoff, c.MaxBackoff = time.Minute, time.Second }, "max_backoff: 1s is below min_backoff 1m0s"},
		{"poll storm", func(c *Config) { c.PollInterval = time.Millisecond }, "poll_interval: 1ms must be between"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			c.Brokers = append([]string(nil), good.Brokers...)
			tc.edit(&c)
			err := c.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error\n  %v\nwant it to contain\n  %s", err, tc.err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error leaks the password: %v", err)
			}
		})
	}
}

func TestConfigValidateReportsEveryKey(t *testing.T) {
	err := Config{}.Validate()
	for _, key := range []string{"brokers", "region", "site", "keep_alive", "connect_timeout", "ack_timeout", "window", "min_backoff", "poll_interval"} {
		if err == nil || !strings.Contains(err.Error(), "uplink: "+key+":") {
			t.Errorf("zero config: no error for %s in\n%v", key, err)
		}
	}
}

func TestNewLoadsSecrets(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	cfg := testConfig("tcp://127.0.0.1:1883")
	cfg.Username, cfg.PasswordFile = "s1", filepath.Join(dir, "missing")
	if _, err := New(cfg, newMemOutbox(), log, Options{}); err == nil || !strings.Contains(err.Error(), "uplink: password_file: open") {
		t.Errorf("missing password file: %v", err)
	}
	if err := os.WriteFile(cfg.PasswordFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, newMemOutbox(), log, Options{}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty password file: %v", err)
	}
	tc := testConfig("ssl://127.0.0.1:8883")
	tc.CAFile = cfg.PasswordFile // not a certificate
	if _, err := New(tc, newMemOutbox(), log, Options{}); err == nil || !strings.Contains(err.Error(), "ca_file") || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CA file without a certificate: %v", err)
	}
	k := testenv.NewPKI(t, testSite)
	tc.CAFile, tc.CertFile, tc.KeyFile = k.CAFile, k.ClientCert, k.ServerKey // key of another certificate
	if _, err := New(tc, newMemOutbox(), log, Options{}); err == nil || !strings.Contains(err.Error(), "cert_file/key_file") {
		t.Errorf("mismatched key: %v", err)
	}
	tc.KeyFile = k.ClientKey
	if _, err := New(tc, newMemOutbox(), log, Options{}); err != nil {
		t.Errorf("good TLS files: %v", err)
	}
	if _, err := New(testConfig("tcp://127.0.0.1:1883"), nil, log, Options{}); err == nil {
		t.Error("New accepted a nil outbox")
	}
}

func TestRedactAndLogValue(t *testing.T) {
	testenv.CheckFunc(t, "Redact", Redact, map[string]string{
		"tcp://a:1883":              "tcp://a:1883",
		"ssl://site:s3cret@a:8883":  "ssl://site:xxxxx@a:8883",
		"tcp://a b:1:2\x7f":         "tcp://<unparsable>",
		"\x7f:not a url s3cret@x:1": "<unparsable URL>",
	})
	var buf bytes.Buffer
	cfg := testConfig("ssl://site:s3cret@a:8883")
	cfg.Username, cfg.PasswordFile = "site", "/run/secrets/pw"
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "uplink", cfg)
	out := buf.String()
	if strings.Contains(out, "s3cret") || !strings.Contains(out, "uplink.password=true") || !strings.Contains(out, "client_id=dozor-r1-s1") {
		t.Errorf("logged config: %s", out)
	}
}

// TestRetryPolicy: the waits between connection attempts double from
// min_backoff to max_backoff and are at most half shorter. The policy
// itself is tested in internal/backoff.
func TestRetryPolicy(t *testing.T) {
	p := DefaultConfig().retryPolicy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute} {
		long, short := p.Delay(n, 0), p.Delay(n, 0.999999)
		if long != want || short > want || short < want/2 {
			t.Errorf("failure %d: delay in [%v, %v], want [%v, %v]", n, short, long, want/2, want)
		}
	}
	if d := p.Delay(1000, 1); d != time.Minute/2 {
		t.Errorf("after 1000 failures: %v", d)
	}
}

// TestRunOnce: a second Run is refused while the first runs; the uplink
// with no reachable broker stops at once on cancellation, in the middle of
// a long wait before its next attempt. It runs in a synctest bubble: the
// refused dials are real, the waits pass on the bubble's fake clock.
func TestRunOnce(t *testing.T) {
	checkLeaks(t)
	today := time.Now()
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig("tcp://127.0.0.1:1") // nothing listens on port 1
		cfg.MinBackoff, cfg.MaxBackoff = 10*time.Minute, 10*time.Minute
		u, err := New(cfg, newMemOutbox(), slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), Options{Now: bubbleClock(today)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- u.Run(ctx) }()
		synctest.Wait() // the first attempt failed; Run waits for the next
		if st := u.Stats(); st.ConnectAttempts != 1 || st.State != StateWaiting {
			t.Fatalf("stats %+v; want one attempt, then waiting", st)
		}
		if err := u.Run(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
			t.Errorf("second Run: %v", err)
		}
		if st := u.Stats(); !strings.Contains(st.LastError, "connection refused") || st.OutboxDepth != 0 {
			t.Errorf("stats %+v; want connection refused and the outbox depth", st)
		}
		cancel()
		synctest.Wait() // no time passes: Run must be done without waiting
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		default:
			t.Fatal("Run still waiting after cancellation")
		}
		if u.Stats().State != StateStopped {
			t.Errorf("state %v after Run returned", u.Stats().State)
		}
	})
}

// A box whose clock is unset (1970 after a boot without a battery) still
// announces itself: the site status goes out at the wire's earliest time
// instead of being refused, or crashing the daemon.
func TestSiteStatusWithUnsetClock(t *testing.T) {
	cfg := testConfig("tcp://127.0.0.1:1")
	u, err := New(cfg, newMemOutbox(), slog.New(slog.DiscardHandler), Options{Now: func() time.Time { return time.Unix(0, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	b := u.siteStatus(context.Background(), wire.SiteOnline, "")
	topic, err := wire.SiteStatusTopic(cfg.Region, cfg.Site)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := wire.Decode(topic, b, wire.Epoch)
	if err != nil {
		t.Fatalf("the region refuses the status of a box with an unset clock: %v\n%s", err, b)
	}
	if st := msg.Payload.(wire.SiteStatus); !st.At.Equal(wire.Epoch) || st.State != wire.SiteOnline {
		t.Errorf("status %+v; want online at %v", st, wire.Epoch)
	}
}

func TestDefaultClientIDHasNoDot(t *testing.T) {
	c := Config{Region: "north.ru", Site: "ik5.a"}
	if got, want := c.clientID(), "dozor-north_ru-ik5_a"; got != want {
		t.Errorf("client ID %q, want %q: NATS's MQTT listener refuses a '.'", got, want)
	}
	c.ClientID = "box-7.north"
	if got := c.clientID(); got != "box-7.north" {
		t.Errorf("an explicit client ID became %q", got)
	}
}
