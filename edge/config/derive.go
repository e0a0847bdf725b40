package config

import (
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/sync/uplink"
)

// The configuration of the daemon's parts, derived from the file's. The
// daemon and the hardware test both use these, so that the test measures
// what the daemon runs.

// Workers is the number of recognizer workers: recognizer.workers, or one
// per core when it is 0.
func (cfg Config) Workers() int {
	if cfg.Recognizer.Workers > 0 {
		return cfg.Recognizer.Workers
	}
	return runtime.NumCPU()
}

// UplinkConfig is the uplink configuration the daemon derives from its
// own; the hardware test connects with exactly this.
func (cfg Config) UplinkConfig() uplink.Config {
	u := uplink.DefaultConfig()
	u.Brokers = []string{cfg.Uplink.Broker}
	u.ClientID = cfg.Uplink.ClientID
	u.Username = cfg.Uplink.Username
	u.PasswordFile = cfg.Uplink.PasswordFile
	u.CAFile = cfg.Uplink.CAFile
	u.CertFile = cfg.Uplink.CertFile
	u.KeyFile = cfg.Uplink.KeyFile
	u.Region = cfg.Site.Region
	u.Site = cfg.Site.ID
	u.KeepAlive = cfg.Uplink.KeepAlive
	return u
}

// CameraConfig is the configuration of camera cc as the daemon runs it:
// credentials from the camera's credentials file (one line,
// user:password), the detection rate, and frames scaled to the detection
// size. When the credentials file cannot be read it returns the
// configuration without credentials together with the error.
func (cfg Config) CameraConfig(cc Camera) (camera.Config, error) {
	fps := cc.DetectFPS
	if fps == 0 {
		fps = cfg.Recognizer.DetectFPS
	}
	c := camera.Config{ID: cc.ID, URL: cc.URL, Transport: cc.Transport, SampleRate: fps, MaxSide: cfg.Models.DetectionSize,
		ChipMaxSide: -1}
	if cfg.Recognizer.ChipMaxSide != 0 {
		c.ChipMaxSide = cfg.Recognizer.ChipMaxSide
	}
	if cc.CredentialsFile == "" {
		return c, nil
	}
	b, err := os.ReadFile(cc.CredentialsFile)
	if err != nil {
		return c, fmt.Errorf("camera %s: credentials_file: %w", cc.ID, err)
	}
	u, err := url.Parse(cc.URL)
	if err != nil {
		return c, fmt.Errorf("camera %s: url: %w", cc.ID, err)
	}
	user, pass, _ := strings.Cut(strings.TrimRight(string(b), "\r\n"), ":")
	u.User = url.UserPassword(user, pass)
	c.URL = u.String()
	return c, nil
}
