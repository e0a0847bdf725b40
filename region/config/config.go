// Package config is the region daemon's configuration: one YAML file over
// compiled-in defaults, parsed strictly (an unknown key is an error, so a
// typo never silently falls back to a default), then environment overrides
// DOZOR_REGION_<SECTION>_<KEY>, then validation whose messages name the
// key. Secrets (the PostgreSQL DSN, the external cluster's password, the
// sites' password hashes) are never written inline: the file names files
// that hold them.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/internal/yamlconf"
	"github.com/dozor-edge/dozor/sync/wire"
)

// Config is the whole daemon configuration.
type Config struct {
	Region  Region  `yaml:"region"`
	Data    Data    `yaml:"data"`
	Store   Store   `yaml:"store"`
	Broker  Broker  `yaml:"broker"`
	Ingest  Ingest  `yaml:"ingest"`
	Gallery Gallery `yaml:"gallery"`
	Models  Models  `yaml:"models"`
	HTTP    HTTP    `yaml:"http"`
	Log     Log     `yaml:"log"`
}

// Region names the region on the wire (dozor/v1/<region>/...).
type Region struct {
	ID string `yaml:"id"`
}

// Data is the folder of the daemon's own files: the embedded node's
// JetStream storage and the content-addressed crops.
type Data struct {
	Dir string `yaml:"dir"`
}

// JetStreamDir is where the embedded NATS node keeps its streams.
func (d Data) JetStreamDir() string { return filepath.Join(d.Dir, "jetstream") }

// CropDir is where face crops are kept, named by their sha256.
func (d Data) CropDir() string { return filepath.Join(d.Dir, "crops") }

// Store drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Store selects the database: one SQLite file, or PostgreSQL through a DSN
// read from a file.
type Store struct {
	Driver  string `yaml:"driver"`
	Path    string `yaml:"path"`
	DSNFile string `yaml:"dsn_file"`
	// KeyFile holds the key (32 random bytes, mode 0600) that seals the
	// gallery's photos and templates in the database. Empty means
	// <data.dir>/store.key. It is generated on the first start; keep a
	// copy apart from the database and its backups.
	KeyFile string `yaml:"key_file"`
}

// DSN reads the PostgreSQL connection string from DSNFile (its first
// non-empty line).
func (s Store) DSN() (string, error) {
	b, err := os.ReadFile(s.DSNFile)
	if err != nil {
		return "", fmt.Errorf("store.dsn_file: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l, nil
		}
	}
	return "", fmt.Errorf("store.dsn_file %s: empty", s.DSNFile)
}

// Broker is the NATS node the edges' MQTT uplinks connect to: embedded in
// this process, or, when External lists URLs, a cluster run elsewhere.
type Broker struct {
	MQTTListen string `yaml:"mqtt_listen"`
	NATSListen string `yaml:"nats_listen"`
	// CertFile and KeyFile, when set, make the MQTT listener speak TLS
	// (PEM files).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// SitesFile holds one line per site: "site-id bcrypt-hash".
	SitesFile string `yaml:"sites_file"`
	// ServerName names this node; unique per node of a cluster and stable
	// across its restarts. Empty means "regiond-<region>" (one node only).
	ServerName string  `yaml:"server_name"`
	Cluster    Cluster `yaml:"cluster"`
	Replicas   int     `yaml:"replicas"`
	// External lists the NATS URLs of a cluster run elsewhere; when set
	// no node is embedded and regiond connects as ServiceUser.
	External            []string `yaml:"external"`
	ServiceUser         string   `yaml:"service_user"`
	ServicePasswordFile string   `yaml:"service_password_file"`
}

// Embedded reports whether this process runs its own NATS node.
func (b Broker) Embedded() bool { return len(b.External) == 0 }

// TLS reports whether the MQTT listener speaks TLS.
func (b Broker) TLS() bool { return b.CertFile != "" }

// ServicePassword reads the external cluster's password from
// ServicePasswordFile (its first line, trimmed).
func (b Broker) ServicePassword() (string, error) {
	return readSecret("broker.service_password_file", b.ServicePasswordFile)
}

// readSecret reads the first line of a secret file, trimmed.
func readSecret(key, path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	pw, _, _ := strings.Cut(string(raw), "\n")
	if pw = strings.TrimSpace(pw); pw == "" {
		return "", fmt.Errorf("%s %s: empty", key, path)
	}
	return pw, nil
}

// Cluster joins the embedded node to other regiond nodes over NATS routes.
// An empty Name means one node on its own.
type Cluster struct {
	Name   string   `yaml:"name"`
	Listen string   `yaml:"listen"`
	Routes []string `yaml:"routes"`
	// PasswordFile holds the routes' shared password (the same file on
	// every node); empty accepts routes without one.
	PasswordFile string `yaml:"password_file"`
}

// Password reads the routes' password from PasswordFile; "" when none is
// configured.
func (c Cluster) Password() (string, error) {
	if c.PasswordFile == "" {
		return "", nil
	}
	return readSecret("broker.cluster.password_file", c.PasswordFile)
}

// Enabled reports whether the embedded node is part of a cluster.
func (c Cluster) Enabled() bool { return c.Name != "" }

// Ingest runs the consumers that store what the sites publish.
type Ingest struct {
	// Workers is the number of ingesters in this process; 0 runs the
	// broker only.
	Workers int `yaml:"workers"`
	// ResendAfter is how old a gap in a site's sequence gets before the
	// site is asked to publish the range again.
	ResendAfter time.Duration `yaml:"resend_after"`
}

// Gallery is the master gallery's distribution to the sites: the key
// revisions are signed with and how they are re-sent.
type Gallery struct {
	// SigningKeyFile holds the region's Ed25519 private key (mode 0600).
	// Empty means <data.dir>/gallery-signing.key. It is generated on the
	// first start; the sites configure its public key.
	SigningKeyFile string `yaml:"signing_key_file"`
	// ResendAfter is how long a site has to acknowledge a revision before
	// it is sent again.
	ResendAfter time.Duration `yaml:"resend_after"`
	// TransferSourceWait is how long a transfer waits for the source site
	// to confirm the removal before the destination gets the person anyway.
	TransferSourceWait time.Duration `yaml:"transfer_source_wait"`
	// ChunkBytes bounds one revision message on the wire.
	ChunkBytes int `yaml:"chunk_bytes"`
}

// StoreKeyPath is the store key file in use: Store.KeyFile, or its
// default under the data folder.
func (c Config) StoreKeyPath() string {
	if c.Store.KeyFile != "" {
		return c.Store.KeyFile
	}
	return filepath.Join(c.Data.Dir, "store.key")
}

// SigningKeyPath is the signing key file in use: SigningKeyFile, or its
// default under the data folder.
func (c Config) SigningKeyPath() string {
	if c.Gallery.SigningKeyFile != "" {
		return c.Gallery.SigningKeyFile
	}
	return filepath.Join(c.Data.Dir, "gallery-signing.key")
}

// Models selects the recognition engine used for enrolment at the region,
// as in edged's configuration.
type Models struct {
	// Dir holds the verified model files (`edgectl models install`).
	Dir string `yaml:"dir"`
	// Engine is default, fused, faceplugin, dlibonnx or gofacedlib.
	Engine string `yaml:"engine"`
}

// Engines lists the accepted values of models.engine.
var Engines = []string{"default", "fused", "faceplugin", "dlibonnx", "gofacedlib"}

// Chunk sizes accepted for gallery.chunk_bytes: large enough for a chunk
// envelope with some data, small enough for the broker's message limit.
const (
	MinChunkBytes = 16 << 10
	MaxChunkBytes = 1 << 20
)

// HTTP serves /healthz and /metrics.
type HTTP struct {
	Listen string `yaml:"listen"`
}

// Log sets the structured log output.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Defaults returns the compiled-in configuration. The commented example
// file (Example) must decode to exactly this; a test holds them together.
func Defaults() Config {
	return Config{
		Region: Region{ID: "region"},
		Data:   Data{Dir: "var/region"},
		Store:  Store{Driver: DriverSQLite, Path: "var/region/region.db"},
		Broker: Broker{
			MQTTListen: "127.0.0.1:1883",
			NATSListen: "127.0.0.1:4222",
			SitesFile:  "var/region/sites",
			Replicas:   1,
		},
		Ingest: Ingest{Workers: 1, ResendAfter: 10 * time.Second},
		Gallery: Gallery{ResendAfter: 30 * time.Second, TransferSourceWait: 10 * time.Minute,
			ChunkBytes: 256 << 10},
		Models: Models{Dir: "var/models", Engine: "default"},
		HTTP:   HTTP{Listen: "127.0.0.1:8090"},
		Log:    Log{Level: "info", Format: "text"},
	}
}

//go:embed example.yaml
var example []byte

// Example is the fully commented example configuration shipped with the
// daemon.
func Example() []byte { return append([]byte(nil), example...) }

// MaxFileSize bounds the configuration file.
const MaxFileSize = yamlconf.MaxSize

// EnvPrefix starts every environment override:
// DOZOR_REGION_<SECTION>_<KEY>, e.g. DOZOR_REGION_REGION_ID or
// DOZOR_REGION_BROKER_CLUSTER_NAME. A list (broker.external,
// broker.cluster.routes) is written comma-separated.
const EnvPrefix = "DOZOR_REGION_"

// file is the shared loading machinery set up for this configuration.
var file = yamlconf.File[Config]{MaxSize: MaxFileSize, EnvPrefix: EnvPrefix, Parse: Parse, Validate: Config.Validate}

// Load reads, parses, overrides from the environment and validates.
func Load(path string, env func(string) (string, bool)) (Config, error) {
	return file.Load(path, env)
}

// Parse decodes YAML strictly over the defaults. It does not validate.
func Parse(data []byte) (Config, error) {
	c := Defaults()
	if err := yamlconf.Decode(data, &c); err != nil {
		return Config{}, err
	}
	// An empty list written out ("routes: []") means the same as none.
	if len(c.Broker.External) == 0 {
		c.Broker.External = nil
	}
	if len(c.Broker.Cluster.Routes) == 0 {
		c.Broker.Cluster.Routes = nil
	}
	return c, nil
}

// Validate checks every value; the error lists each problem with its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if err := wire.ValidateSegment(c.Region.ID); err != nil {
		bad("region.id", "%q: %v (it is part of every MQTT topic)", c.Region.ID, err)
	}
	if c.Data.Dir == "" {
		bad("data.dir", "must not be empty")
	}
	switch c.Store.Driver {
	case DriverSQLite:
		if c.Store.Path == "" {
			bad("store.path", "must not be empty with driver sqlite")
		}
		if c.Store.DSNFile != "" {
			bad("store.dsn_file", "is for driver postgres; driver is sqlite")
		}
	case DriverPostgres:
		if c.Store.DSNFile == "" {
			bad("store.dsn_file", "must be set with driver postgres (a file holding the DSN, so its password stays out of the config)")
		}
	default:
		bad("store.driver", "%q must be sqlite or postgres", c.Store.Driver)
	}
	switch key := filepath.Clean(c.StoreKeyPath()); {
	case c.Store.Driver == DriverSQLite && c.Store.Path != "" && key == filepath.Clean(c.Store.Path):
		bad("store.key_file", "%q is the database itself; the key must be a file of its own", key)
	case c.Store.DSNFile != "" && key == filepath.Clean(c.Store.DSNFile):
		bad("store.key_file", "%q is also store.dsn_file", key)
	case key == filepath.Clean(c.SigningKeyPath()):
		bad("store.key_file", "%q is also the gallery signing key; the two keys must be separate files", key)
	}
	b := c.Broker
	if (b.CertFile == "") != (b.KeyFile == "") {
		bad("broker.cert_file", "cert_file and key_file go together (a certificate needs its key)")
	}
	if b.Replicas < 1 || b.Replicas > 5 {
		bad("broker.replicas", "%d must be between 1 and 5 (3 in a cluster)", b.Replicas)
	}
	if b.Embedded() {
		checkListen := func(key, v string) {
			if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
				bad(key, "%q is not host:port", v)
			}
		}
		checkListen("broker.mqtt_listen", b.MQTTListen)
		checkListen("broker.nats_listen", b.NATSListen)
		if b.SitesFile == "" {
			bad("broker.sites_file", "must not be empty: it holds the sites' credentials")
		}
		if b.ServiceUser != "" || b.ServicePasswordFile != "" {
			bad("broker.service_user", "is for an external cluster; the embedded node makes its own service user")
		}
		if b.ServerName != "" && strings.ContainsAny(b.ServerName, " \t\r\n") {
			bad("broker.server_name", "%q contains whitespace", b.ServerName)
		}
		if b.Cluster.Enabled() {
			if b.ServerName == "" {
				bad("broker.server_name", "must be set in a cluster, unique per node")
			}
			if err := wire.ValidateSegment(b.Cluster.Name); err != nil {
				bad("broker.cluster.name", "%q: %v", b.Cluster.Name, err)
			}
			checkListen("broker.cluster.listen", b.Cluster.Listen)
			for i, r := range b.Cluster.Routes {
				checkURL(bad, fmt.Sprintf("broker.cluster.routes[%d]", i), r, "nats-route", "nats")
			}
		} else {
			if b.Cluster.Listen != "" || len(b.Cluster.Routes) > 0 || b.Cluster.PasswordFile != "" {
				bad("broker.cluster.name", "must be set when broker.cluster.listen, routes or password_file are")
			}
			if b.Replicas > 1 {
				bad("broker.replicas", "%d needs a cluster (broker.cluster.name) or broker.external", b.Replicas)
			}
		}
	} else {
		for i, u := range b.External {
			checkURL(bad, fmt.Sprintf("broker.external[%d]", i), u, "nats", "tls")
		}
		if b.ServiceUser == "" {
			bad("broker.service_user", "must be set with broker.external (the user regiond connects as)")
		}
		if b.ServicePasswordFile == "" {
			bad("broker.service_password_file", "must be set with broker.external")
		}
		if b.Cluster.Enabled() || b.Cluster.Listen != "" || len(b.Cluster.Routes) > 0 || b.ServerName != "" {
			bad("broker.cluster", "is for the embedded node; with broker.external none is embedded")
		}
	}
	if c.Ingest.Workers < 0 || c.Ingest.Workers > 64 {
		bad("ingest.workers", "%d must be between 0 (broker only) and 64", c.Ingest.Workers)
	}
	if c.Ingest.ResendAfter < time.Second || c.Ingest.ResendAfter > time.Hour {
		bad("ingest.resend_after", "%v must be between 1s and 1h", c.Ingest.ResendAfter)
	}
	g := c.Gallery
	if g.ResendAfter < time.Second || g.ResendAfter > time.Hour {
		bad("gallery.resend_after", "%v must be between 1s and 1h", g.ResendAfter)
	}
	if g.TransferSourceWait < 0 || g.TransferSourceWait > 30*24*time.Hour {
		bad("gallery.transfer_source_wait", "%v must be between 0 and 720h", g.TransferSourceWait)
	}
	if g.ChunkBytes < MinChunkBytes || g.ChunkBytes > MaxChunkBytes {
		bad("gallery.chunk_bytes", "%d must be between %d and %d", g.ChunkBytes, MinChunkBytes, MaxChunkBytes)
	}
	if c.Models.Dir == "" {
		bad("models.dir", "must not be empty")
	}
	if !slices.Contains(Engines, c.Models.Engine) {
		bad("models.engine", "%q is not one of %s", c.Models.Engine, strings.Join(Engines, ", "))
	}
	if _, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil || port == "" {
		bad("http.listen", "%q is not host:port", c.HTTP.Listen)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q must be debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q must be text or json", c.Log.Format)
	}
	return errors.Join(errs...)
}

// checkURL reports a URL that is not scheme://host:port with one of the
// schemes, or that holds credentials.
func checkURL(bad func(key, format string, args ...any), key, raw string, schemes ...string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Port() == "":
		bad(key, "%q: want %s://host:port", redact(raw), schemes[0])
	case u.User != nil:
		bad(key, "holds credentials; they come from files, never inline")
	default:
		for _, s := range schemes {
			if u.Scheme == s {
				return
			}
		}
		bad(key, "scheme %q: want %s://", u.Scheme, strings.Join(schemes, ":// or "))
	}
}

// redact hides anything before an '@' so a password never reaches a
// message.
func redact(s string) string {
	if i := strings.LastIndex(s, "@"); i >= 0 {
		return "***" + s[i:]
	}
	return s
}
