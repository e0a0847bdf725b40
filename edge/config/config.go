// Package config is the edge daemon's configuration: one YAML file over
// compiled-in defaults, parsed strictly (an unknown key is an error, so a
// typo never silently falls back to a default), then environment overrides,
// then validation whose messages name the key. Secrets (camera and broker
// credentials, the store key) are never written inline: the file names
// files that hold them.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/internal/yamlconf"
	"github.com/dozor-edge/dozor/sync/gallerysync"
)

// Config is the whole daemon configuration.
type Config struct {
	Site       Site       `yaml:"site"`
	Models     Models     `yaml:"models"`
	Recognizer Recognizer `yaml:"recognizer"`
	Cameras    []Camera   `yaml:"cameras"`
	Store      Store      `yaml:"store"`
	Uplink     Uplink     `yaml:"uplink"`
	Gallery    Gallery    `yaml:"gallery"`
	HTTP       HTTP       `yaml:"http"`
	Log        Log        `yaml:"log"`
}

// Site identifies the facility on the wire and sets its clock.
type Site struct {
	Region   string `yaml:"region"`
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`
	TimeZone string `yaml:"time_zone"`
}

// Models selects the model files and the engine.
type Models struct {
	Dir           string `yaml:"dir"`
	Engine        string `yaml:"engine"`
	DetectionSize int    `yaml:"detection_size"`
}

// Recognizer tunes matching and the multi-frame decision.
type Recognizer struct {
	Workers   int     `yaml:"workers"`
	DetectFPS float64 `yaml:"detect_fps"`
	Threshold float64 `yaml:"threshold"`
	Margin    float64 `yaml:"margin"`
	MinFrames int     `yaml:"min_frames"`
	// ChipMaxSide, when not 0, makes each camera keep its sampled picture
	// at up to this many pixels on the long side beside the detection
	// frame, and faces are cut from it: small faces keep every pixel the
	// camera gave them and many more become usable, but each usable face
	// is embedded, which on a busy 1080p corridor camera doubles its CPU
	// (edgectl bench-chips, bench-capacity --chip-max-side). 0 cuts faces
	// from the detection frame.
	ChipMaxSide int `yaml:"chip_max_side"`
}

// Camera is one RTSP source.
type Camera struct {
	ID              string  `yaml:"id"`
	URL             string  `yaml:"url"`
	CredentialsFile string  `yaml:"credentials_file"`
	Transport       string  `yaml:"transport"`
	Zone            string  `yaml:"zone"`
	DetectFPS       float64 `yaml:"detect_fps"`
}

// Store is the local SQLite database and its encryption key.
type Store struct {
	Path          string `yaml:"path"`
	KeyFile       string `yaml:"key_file"`
	RetentionDays int    `yaml:"retention_days"`
}

// Uplink is the MQTT connection to the region.
type Uplink struct {
	Broker       string        `yaml:"broker"`
	ClientID     string        `yaml:"client_id"`
	Username     string        `yaml:"username"`
	PasswordFile string        `yaml:"password_file"`
	CAFile       string        `yaml:"ca_file"`
	CertFile     string        `yaml:"cert_file"`
	KeyFile      string        `yaml:"key_file"`
	KeepAlive    time.Duration `yaml:"keep_alive"`
	MaxCropBytes int           `yaml:"max_crop_bytes"`
}

// Gallery is the site's part of the region's master gallery.
type Gallery struct {
	// RegionPublicKey is the region's Ed25519 public key in its text form
	// ("ed25519:<base64>", what `regiond gallery pubkey` prints): the site
	// applies only gallery revisions it signed. A public key, so it may be
	// written inline. Empty: the site runs without the region's gallery,
	// and refuses (and audits) every revision it is sent.
	RegionPublicKey string `yaml:"region_public_key"`
}

// HTTP serves /healthz, /metrics and the guard-post monitor.
type HTTP struct {
	Listen string `yaml:"listen"`
	// CertFile and KeyFile, when set, serve HTTPS (PEM files).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// SessionIdle and SessionMax end a monitor login after that long
	// without a request, and that long after it began.
	SessionIdle time.Duration `yaml:"session_idle"`
	SessionMax  time.Duration `yaml:"session_max"`
}

// TLS reports whether the HTTP server speaks HTTPS.
func (h HTTP) TLS() bool { return h.CertFile != "" }

// Log sets the structured log output.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Defaults returns the compiled-in configuration. The commented example
// file (Example) must decode to exactly this; a test holds them together.
func Defaults() Config {
	return Config{
		Site:       Site{Region: "region", ID: "site", TimeZone: "UTC"},
		Models:     Models{Dir: "var/models", Engine: "default", DetectionSize: 640},
		Recognizer: Recognizer{Workers: 0, DetectFPS: 5, Threshold: 0.80, Margin: 0.03, MinFrames: 3},
		Store:      Store{Path: "var/dozor.db", KeyFile: "var/dozor.key", RetentionDays: 90},
		Uplink:     Uplink{Broker: "tcp://127.0.0.1:1883", KeepAlive: 30 * time.Second, MaxCropBytes: 64 << 10},
		HTTP:       HTTP{Listen: "127.0.0.1:8080", SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour},
		Log:        Log{Level: "info", Format: "text"},
	}
}

//go:embed example.yaml
var example []byte

// Example is the fully commented example configuration shipped with the
// daemon.
func Example() []byte { return append([]byte(nil), example...) }

// MaxFileSize bounds the configuration file.
const MaxFileSize = yamlconf.MaxSize

// EnvPrefix starts every environment override: DOZOR_<SECTION>_<KEY>, e.g.
// DOZOR_SITE_ID or DOZOR_UPLINK_BROKER. Cameras are not overridable by
// environment (a list has no stable names); use the file.
const EnvPrefix = "DOZOR_"

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
	return c, nil
}

// Validate checks every value; the error lists each problem with its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	checkID := func(key, v string) {
		if v == "" {
			bad(key, "must not be empty")
			return
		}
		if len(v) > 64 {
			bad(key, "longer than 64 characters")
		}
		for _, r := range v {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				bad(key, "%q may hold only letters, digits, '-', '_' and '.' (it is part of MQTT topics)", v)
				return
			}
		}
	}
	checkID("site.region", c.Site.Region)
	checkID("site.id", c.Site.ID)
	if _, err := time.LoadLocation(c.Site.TimeZone); err != nil || c.Site.TimeZone == "" {
		bad("site.time_zone", "%q is not a time zone name such as Europe/Moscow", c.Site.TimeZone)
	}
	if c.Models.Dir == "" {
		bad("models.dir", "must not be empty")
	}
	switch c.Models.Engine {
	case "default", "fused", "faceplugin", "dlibonnx", "gofacedlib":
	default:
		bad("models.engine", "%q is not one of default, fused, faceplugin, dlibonnx, gofacedlib", c.Models.Engine)
	}
	if v := c.Recognizer.ChipMaxSide; v != 0 && (v < c.Models.DetectionSize || v > camera.MaxPictureSide) {
		bad("recognizer.chip_max_side", "%d must be 0 (faces from the detection frame) or between models.detection_size (%d) and %d",
			v, c.Models.DetectionSize, camera.MaxPictureSide)
	}
	if c.Models.DetectionSize < 160 || c.Models.DetectionSize > 4096 || c.Models.DetectionSize%32 != 0 {
		bad("models.detection_size", "%d must be a multiple of 32 between 160 and 4096", c.Models.DetectionSize)
	}
	if c.Recognizer.Workers < 0 || c.Recognizer.Workers > 256 {
		bad("recognizer.workers", "%d must be between 0 (one per core) and 256", c.Recognizer.Workers)
	}
	checkFPS := func(key string, v float64, zeroOK bool) {
		if zeroOK && v == 0 {
			return
		}
		if !(v >= 0.2 && v <= 60) {
			bad(key, "%v must be between 0.2 and 60 frames per second", v)
		}
	}
	checkFPS("recognizer.detect_fps", c.Recognizer.DetectFPS, false)
	if !(c.Recognizer.Threshold > -1 && c.Recognizer.Threshold < 1) {
		bad("recognizer.threshold", "%v must be a similarity between -1 and 1", c.Recognizer.Threshold)
	}
	if !(c.Recognizer.Margin >= 0 && c.Recognizer.Margin < 1) {
		bad("recognizer.margin", "%v must be between 0 and 1", c.Recognizer.Margin)
	}
	if c.Recognizer.MinFrames < 1 || c.Recognizer.MinFrames > 100 {
		bad("recognizer.min_frames", "%d must be between 1 and 100 (no alert rests on one frame: 3 is the default)", c.Recognizer.MinFrames)
	}
	seen := map[string]int{}
	for i, cam := range c.Cameras {
		key := fmt.Sprintf("cameras[%d]", i)
		checkID(key+".id", cam.ID)
		if j, dup := seen[cam.ID]; dup && cam.ID != "" {
			bad(key+".id", "%q is also cameras[%d].id", cam.ID, j)
		}
		seen[cam.ID] = i
		u, err := url.Parse(cam.URL)
		switch {
		case cam.URL == "":
			bad(key+".url", "must not be empty")
		case err != nil:
			bad(key+".url", "not a URL: %v", redactErr(err))
		case u.Scheme != "rtsp" && u.Scheme != "rtsps":
			bad(key+".url", "scheme %q: want rtsp:// or rtsps://", u.Scheme)
		case u.User != nil:
			bad(key+".url", "holds credentials; put them in credentials_file (user:password) so they stay out of the config and the logs")
		case u.Host == "":
			bad(key+".url", "has no host")
		}
		switch cam.Transport {
		case "", "tcp", "udp":
		default:
			bad(key+".transport", "%q must be tcp or udp", cam.Transport)
		}
		checkFPS(key+".detect_fps", cam.DetectFPS, true)
	}
	if c.Store.Path == "" {
		bad("store.path", "must not be empty")
	}
	if c.Store.KeyFile == "" {
		bad("store.key_file", "must not be empty: templates and face crops are encrypted at rest")
	}
	if c.Store.RetentionDays < 1 || c.Store.RetentionDays > 3650 {
		bad("store.retention_days", "%d must be between 1 and 3650", c.Store.RetentionDays)
	}
	if u, err := url.Parse(c.Uplink.Broker); err != nil || (u.Scheme != "tcp" && u.Scheme != "ssl" && u.Scheme != "mqtt" && u.Scheme != "mqtts") || u.Host == "" {
		bad("uplink.broker", "%q: want tcp://host:port or ssl://host:port", redactURL(c.Uplink.Broker))
	} else if u.User != nil {
		bad("uplink.broker", "holds credentials; use username and password_file")
	}
	if (c.Uplink.CertFile == "") != (c.Uplink.KeyFile == "") {
		bad("uplink.cert_file", "cert_file and key_file go together (a client certificate needs its key)")
	}
	if c.Uplink.Username != "" && c.Uplink.PasswordFile == "" {
		bad("uplink.password_file", "must be set when uplink.username is")
	}
	if c.Uplink.KeepAlive < time.Second || c.Uplink.KeepAlive > 10*time.Minute {
		bad("uplink.keep_alive", "%v must be between 1s and 10m", c.Uplink.KeepAlive)
	}
	if c.Uplink.MaxCropBytes < 0 || c.Uplink.MaxCropBytes > 1<<20 {
		bad("uplink.max_crop_bytes", "%d must be between 0 (no crops on the wire) and 1048576", c.Uplink.MaxCropBytes)
	}
	if c.Gallery.RegionPublicKey != "" {
		if _, err := gallerysync.ParsePublicKey(c.Gallery.RegionPublicKey); err != nil {
			bad("gallery.region_public_key", "%v (want ed25519:<base64>, as `regiond gallery pubkey` prints it)", err)
		}
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen", "%q is not host:port", c.HTTP.Listen)
	}
	if (c.HTTP.CertFile == "") != (c.HTTP.KeyFile == "") {
		bad("http.cert_file", "cert_file and key_file go together (a certificate needs its key)")
	}
	if c.HTTP.SessionIdle < time.Minute || c.HTTP.SessionIdle > 24*time.Hour {
		bad("http.session_idle", "%v: want 1m to 24h", c.HTTP.SessionIdle)
	}
	if c.HTTP.SessionMax < c.HTTP.SessionIdle || c.HTTP.SessionMax > 7*24*time.Hour {
		bad("http.session_max", "%v: want from session_idle (%v) to 168h", c.HTTP.SessionMax, c.HTTP.SessionIdle)
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

// redactURL hides any password in a URL so it can appear in a message.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.Index(s, "@"); i >= 0 {
			return "***" + s[i:]
		}
		return s
	}
	return u.Redacted()
}

func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "malformed"
}
