package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExampleEqualsDefaults(t *testing.T) {
	c, err := Parse(Example())
	if err != nil {
		t.Fatal(err)
	}
	if d := Defaults(); !reflect.DeepEqual(c, d) {
		if c.Cameras != nil && len(c.Cameras) == 0 {
			c.Cameras = nil
		}
		if !reflect.DeepEqual(c, d) {
			t.Fatalf("example.yaml differs from Defaults():\nexample  %+v\ndefaults %+v", c, d)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	// Every key of every section is documented in the example.
	ex := string(Example())
	v := reflect.TypeOf(Config{})
	for i := 0; i < v.NumField(); i++ {
		sec := v.Field(i)
		if !strings.Contains(ex, sec.Tag.Get("yaml")+":") {
			t.Errorf("example lacks section %q", sec.Tag.Get("yaml"))
		}
		st := sec.Type
		if st.Kind() == reflect.Slice {
			st = st.Elem()
		}
		for j := 0; j < st.NumField(); j++ {
			if k := st.Field(j).Tag.Get("yaml"); !strings.Contains(ex, k+":") {
				t.Errorf("example lacks key %s.%s", sec.Tag.Get("yaml"), k)
			}
		}
	}
}

func TestLoadCases(t *testing.T) {
	cases := []struct {
		file string
		want []string // substrings of the error; nil means success
	}{
		{"good-full.yaml", nil},
		{"bad-unknown-key.yaml", []string{`unknown key "idd"`, "line 3"}},
		{"bad-inline-credentials.yaml", []string{"cameras[0].url", "credentials_file"}},
		{"bad-values.yaml", []string{
			"site.region", "site.time_zone", "models.engine", "models.detection_size",
			"recognizer.threshold", "recognizer.min_frames", "cameras[0].url", "cameras[0].transport",
			"cameras[1].id", "uplink.broker", "uplink.cert_file", "log.level"}},
		{"bad-type.yaml", []string{"many", "int"}},
		{"bad-two-docs.yaml", []string{"more than one YAML document"}},
		{"bad-gallery-key.yaml", []string{"gallery.region_public_key", "ed25519:<base64>"}},
		{"bad-chip-max-side.yaml", []string{"recognizer.chip_max_side", "320"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			cfg, err := Load(filepath.Join("testdata", c.file), nil)
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", cfg)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "secret123") {
				t.Errorf("error leaks a password: %v", err)
			}
		})
	}
}

func TestGoodFullValues(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "good-full.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Site.ID != "kolony-3" || len(c.Cameras) != 2 || c.Cameras[1].Transport != "udp" || c.Uplink.KeepAlive != 45*time.Second || c.Recognizer.MinFrames != 4 ||
		c.Gallery.RegionPublicKey != "ed25519:TQ7DoNA/7/+TqbzOKiS0BtRvRK7/H3eH2u2xPKr6QCw=" {
		t.Fatalf("values not read: %+v", c)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := map[string]string{
		"DOZOR_SITE_ID":            "override-7",
		"DOZOR_RECOGNIZER_WORKERS": "3",
		"DOZOR_RECOGNIZER_MARGIN":  "0.1",
		"DOZOR_UPLINK_KEEP_ALIVE":  "1m",
		"DOZOR_MODELS_ENGINE":      "faceplugin",
		"DOZOR_UNRELATED_VARIABLE": "ignored",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := Load(filepath.Join("testdata", "good-full.yaml"), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.Site.ID != "override-7" || c.Recognizer.Workers != 3 || c.Recognizer.Margin != 0.1 || c.Uplink.KeepAlive != time.Minute || c.Models.Engine != "faceplugin" {
		t.Fatalf("overrides not applied: %+v", c)
	}
	env["DOZOR_RECOGNIZER_WORKERS"] = "lots"
	if _, err := Load(filepath.Join("testdata", "good-full.yaml"), lookup); err == nil || !strings.Contains(err.Error(), "DOZOR_RECOGNIZER_WORKERS") {
		t.Fatalf("bad override: %v", err)
	}
}

func TestLoadFileProblems(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil); err == nil {
		t.Fatal("missing file accepted")
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	os.WriteFile(big, []byte("# "+strings.Repeat("x", MaxFileSize)+"\n"), 0o644)
	if _, err := Load(big, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(empty, nil, 0o644)
	if c, err := Load(empty, nil); err != nil || !reflect.DeepEqual(c.Site, Defaults().Site) {
		t.Fatalf("empty file should give the defaults: %v", err)
	}
}

// FuzzParse: any input gives a config or an error, never a panic, and a
// config that validates survives a round trip through validation again.
func FuzzParse(f *testing.F) {
	f.Add(Example())
	for _, name := range []string{"good-full.yaml", "bad-unknown-key.yaml", "bad-inline-credentials.yaml", "bad-values.yaml", "bad-type.yaml", "bad-two-docs.yaml", "bad-gallery-key.yaml", "bad-chip-max-side.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		_ = c.Validate()
	})
}
