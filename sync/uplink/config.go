package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/sync/wire"
)

// Config is the uplink's connection to the regional broker. Secrets are
// never inline: the password is read from PasswordFile (and re-read at
// every connection attempt, so a rotated password needs no restart).
type Config struct {
	// Brokers are tried in order at every attempt: tcp://host:port or
	// ssl://host:port (mqtt:// and mqtts:// are synonyms).
	Brokers []string `yaml:"brokers"`
	// ClientID must be stable across restarts: the broker keeps the
	// session (CleanSession is false) under this ID. Empty means
	// "dozor-{region}-{site}".
	ClientID     string `yaml:"client_id"`
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	// CAFile verifies the broker (the system roots when empty); CertFile
	// and KeyFile are the client certificate for brokers that require one.
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the broker's certificate
	// (by default the host of the broker URL).
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns off broker certificate verification; for
	// commissioning only, and logged as a warning.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Region and Site place the box in the topic tree; every outbox topic
	// must belong to this site.
	Region string `yaml:"region"`
	Site   string `yaml:"site"`

	KeepAlive      time.Duration `yaml:"keep_alive"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// AckTimeout is how long a PUBACK may take before the connection is
	// taken for dead and reopened.
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// Window is the number of messages in flight (published, not yet
	// acknowledged).
	Window int `yaml:"window"`
	// MinBackoff and MaxBackoff bound the jittered, doubling wait between
	// connection attempts.
	MinBackoff time.Duration `yaml:"min_backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// PollInterval is the safety net behind Notify: the outbox is looked at
	// this often even when nobody calls Notify.
	PollInterval time.Duration `yaml:"poll_interval"`
}

// DefaultConfig returns the compiled-in defaults; Brokers, Region and Site
// have none.
func DefaultConfig() Config {
	return Config{
		KeepAlive:      30 * time.Second,
		ConnectTimeout: 10 * time.Second,
		AckTimeout:     60 * time.Second,
		Window:         32,
		MinBackoff:     time.Second,
		MaxBackoff:     time.Minute,
		PollInterval:   30 * time.Second,
	}
}

// clientID is the effective MQTT client ID.
func (c Config) clientID() string {
	if c.ClientID != "" {
		return c.ClientID
	}
	// NATS's MQTT listener, which the region runs, refuses a client ID
	// with a '.', which site and region IDs may contain.
	return "dozor-" + strings.ReplaceAll(c.Region, ".", "_") + "-" + strings.ReplaceAll(c.Site, ".", "_")
}

// Validate checks the configuration without touching the file system;
// New also loads the files. Every message names the key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("uplink: %s: %s", key, fmt.Sprintf(format, a...)))
	}
	if len(c.Brokers) == 0 {
		bad("brokers", "at least one broker URL is required (tcp://host:port or ssl://host:port)")
	}
	anyTLS := false
	for i, raw := range c.Brokers {
		key := fmt.Sprintf("brokers[%d]", i)
		u, err := url.Parse(raw)
		if err != nil {
			bad(key, "%s: not a URL", Redact(raw))
			continue
		}
		switch {
		case u.User != nil:
			bad(key, "%s: holds credentials; use username and password_file", Redact(raw))
			continue
		case !isTCP(u.Scheme) && !isTLS(u.Scheme):
			bad(key, "%s: scheme %q; want tcp://host:port or ssl://host:port", Redact(raw), u.Scheme)
			continue
		case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
			bad(key, "%s: a broker URL has no path, query or fragment", Redact(raw))
			continue
		}
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil || host == "" || port == "" {
			bad(key, "%s: want host:port after the scheme", Redact(raw))
			continue
		}
		anyTLS = anyTLS || isTLS(u.Scheme)
	}
	if !anyTLS {
		for _, f := range []struct{ key, val string }{{"ca_file", c.CAFile}, {"cert_file", c.CertFile}, {"key_file", c.KeyFile}, {"server_name", c.ServerName}} {
			if f.val != "" && len(c.Brokers) > 0 {
				bad(f.key, "set, but no broker uses ssl://")
			}
		}
		if c.InsecureSkipVerify && len(c.Brokers) > 0 {
			bad("insecure_skip_verify", "set, but no broker uses ssl://")
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("cert_file", "cert_file and key_file go together (a client certificate needs its key)")
	}
	if c.PasswordFile != "" && c.Username == "" {
		bad("username", "required when password_file is set")
	}
	if err := wire.ValidateSegment(c.Region); err != nil {
		bad("region", "%v", err)
	}
	if err := wire.ValidateSegment(c.Site); err != nil {
		bad("site", "%v", err)
	}
	if c.ClientID != "" || (c.Region != "" && c.Site != "") {
		if err := validateClientID(c.clientID()); err != nil {
			bad("client_id", "%v", err)
		}
	}
	if strings.ContainsAny(c.Username, "\x00\r\n") || len(c.Username) > 256 {
		bad("username", "must be at most 256 bytes without NUL or line breaks")
	}
	durations := []struct {
		key      string
		v        time.Duration
		min, max time.Duration
	}{
		{"keep_alive", c.KeepAlive, time.Second, 10 * time.Minute},
		{"connect_timeout", c.ConnectTimeout, time.Second, 5 * time.Minute},
		{"ack_timeout", c.AckTimeout, time.Second, time.Hour},
		{"min_backoff", c.MinBackoff, 10 * time.Millisecond, 10 * time.Minute},
		{"max_backoff", c.MaxBackoff, 10 * time.Millisecond, time.Hour},
		{"poll_interval", c.PollInterval, 100 * time.Millisecond, time.Hour},
	}
	for _, d := range durations {
		if d.v < d.min || d.v > d.max {
			bad(d.key, "%v must be between %v and %v", d.v, d.min, d.max)
		}
	}
	if c.MaxBackoff < c.MinBackoff {
		bad("max_backoff", "%v is below min_backoff %v", c.MaxBackoff, c.MinBackoff)
	}
	if c.Window < 1 || c.Window > 1000 {
		bad("window", "%d must be between 1 and 1000", c.Window)
	}
	return errors.Join(errs...)
}

func isTCP(scheme string) bool { return scheme == "tcp" || scheme == "mqtt" }

func isTLS(scheme string) bool { return scheme == "ssl" || scheme == "tls" || scheme == "mqtts" }

func validateClientID(id string) error {
	if len(id) > 128 {
		return fmt.Errorf("%d bytes, longer than 128", len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%q: allowed are A-Z a-z 0-9 . _ -", id)
		}
	}
	return nil
}

// LogValue lets a Config be logged whole: URLs are redacted and no secret
// is held in it (only file names).
func (c Config) LogValue() slog.Value {
	brokers := make([]string, len(c.Brokers))
	for i, b := range c.Brokers {
		brokers[i] = Redact(b)
	}
	return slog.GroupValue(
		slog.Any("brokers", brokers),
		slog.String("client_id", c.clientID()),
		slog.String("username", c.Username),
		slog.Bool("password", c.PasswordFile != ""),
		slog.Bool("client_cert", c.CertFile != ""),
		slog.Bool("insecure_skip_verify", c.InsecureSkipVerify),
		slog.String("region", c.Region),
		slog.String("site", c.Site),
	)
}

// Redact returns a broker URL fit for logs: any password is replaced by
// xxxxx (url.URL.Redacted), and a URL that does not parse is reduced to
// its scheme.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.Index(raw, "://"); i > 0 && i < 10 {
			return raw[:i] + "://<unparsable>"
		}
		return "<unparsable URL>"
	}
	return u.Redacted()
}

// secrets are what a connection attempt reads from files.
type secrets struct {
	password string
	tls      *tls.Config // nil when no broker uses TLS
}

// loadSecrets reads the password and TLS files. It runs in New (so a
// missing file is a fatal configuration error) and again before every
// attempt (so rotated files are picked up).
func (c Config) loadSecrets() (secrets, error) {
	var s secrets
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return s, fmt.Errorf("uplink: password_file: %w", err)
		}
		s.password = strings.TrimRight(string(b), "\r\n")
		if s.password == "" {
			return s, fmt.Errorf("uplink: password_file %s: empty", c.PasswordFile)
		}
	}
	anyTLS := false
	for _, b := range c.Brokers {
		if u, err := url.Parse(b); err == nil && isTLS(u.Scheme) {
			anyTLS = true
		}
	}
	if !anyTLS {
		return s, nil
	}
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // opt-in, validated and logged
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return s, fmt.Errorf("uplink: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return s, fmt.Errorf("uplink: ca_file %s: no PEM certificate in it", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return s, fmt.Errorf("uplink: cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	s.tls = tc
	return s, nil
}
