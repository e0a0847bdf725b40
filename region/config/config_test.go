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
		t.Fatalf("example.yaml differs from Defaults():\nexample  %+v\ndefaults %+v", c, d)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	// Every key of every section, nested ones included, is in the example.
	ex := string(Example())
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			k := f.Tag.Get("yaml")
			if !strings.Contains(ex, k+":") {
				t.Errorf("example lacks key %s%s", prefix, k)
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
				walk(prefix+k+".", f.Type)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
}

func TestLoadCases(t *testing.T) {
	cases := []struct {
		file string
		want []string // substrings of the error; nil means success
	}{
		{"good-full.yaml", nil},
		{"good-external.yaml", nil},
		{"bad-unknown-key.yaml", []string{`unknown key "nmae"`, "line 5"}},
		{"bad-inline-credentials.yaml", []string{"broker.external[0]", "holds credentials"}},
		{"bad-values.yaml", []string{
			"region.id", "data.dir", "store.driver", "broker.mqtt_listen", "broker.cert_file",
			"broker.replicas", "broker.cluster.name", "ingest.workers", "ingest.resend_after",
			"http.listen", "log.level", "log.format"}},
		{"bad-external.yaml", []string{"broker.external[0]", `scheme "http"`, "broker.service_user",
			"broker.service_password_file", "broker.cluster"}},
		{"bad-sqlite-dsn.yaml", []string{"store.path", "store.dsn_file"}},
		{"bad-cluster.yaml", []string{"broker.server_name", "broker.cluster.name", "broker.cluster.routes[0]"}},
		{"bad-type.yaml", []string{"many", "int"}},
		{"bad-two-docs.yaml", []string{"more than one YAML document"}},
		{"bad-store-key.yaml", []string{"store.key_file", "is the database itself"}},
		{"bad-gallery.yaml", []string{"gallery.resend_after", "gallery.transfer_source_wait", "gallery.chunk_bytes",
			"models.dir", `models.engine: "arcface"`}},
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

func TestGoodValues(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "good-full.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Region.ID != "north" || c.Store.Driver != DriverPostgres || !c.Broker.Cluster.Enabled() ||
		len(c.Broker.Cluster.Routes) != 2 || c.Broker.Replicas != 3 || !c.Broker.TLS() || !c.Broker.Embedded() ||
		c.Ingest.Workers != 2 || c.Ingest.ResendAfter != 30*time.Second {
		t.Fatalf("values not read: %+v", c)
	}
	if got := c.Data.CropDir(); got != "/var/lib/dozor-region/crops" {
		t.Errorf("CropDir %q", got)
	}
	e, err := Load(filepath.Join("testdata", "good-external.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Broker.Embedded() || len(e.Broker.External) != 2 || e.Broker.ServiceUser != "regiond" {
		t.Fatalf("external not read: %+v", e.Broker)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := map[string]string{
		"DOZOR_REGION_REGION_ID":             "override-7",
		"DOZOR_REGION_INGEST_WORKERS":        "3",
		"DOZOR_REGION_INGEST_RESEND_AFTER":   "1m",
		"DOZOR_REGION_BROKER_CLUSTER_ROUTES": "nats-route://10.0.0.8:6222, nats-route://10.0.0.9:6222",
		"DOZOR_REGION_BROKER_CLUSTER_NAME":   "south",
		"DOZOR_REGION_UNRELATED":             "ignored",
		"DOZOR_SITE_ID":                      "the edge's, ignored",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := Load(filepath.Join("testdata", "good-full.yaml"), lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"nats-route://10.0.0.8:6222", "nats-route://10.0.0.9:6222"}
	if c.Region.ID != "override-7" || c.Ingest.Workers != 3 || c.Ingest.ResendAfter != time.Minute ||
		c.Broker.Cluster.Name != "south" || !reflect.DeepEqual(c.Broker.Cluster.Routes, want) {
		t.Fatalf("overrides not applied: %+v", c)
	}
	env["DOZOR_REGION_INGEST_WORKERS"] = "lots"
	if _, err := Load(filepath.Join("testdata", "good-full.yaml"), lookup); err == nil || !strings.Contains(err.Error(), "DOZOR_REGION_INGEST_WORKERS (ingest.workers)") {
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
	if c, err := Load(empty, nil); err != nil || !reflect.DeepEqual(c, Defaults()) {
		t.Fatalf("empty file should give the defaults: %v", err)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "dsn")
	os.WriteFile(dsn, []byte("\n  postgres://u:p@127.0.0.1:5432/db  \n"), 0o600)
	if got, err := (Store{DSNFile: dsn}).DSN(); err != nil || got != "postgres://u:p@127.0.0.1:5432/db" {
		t.Fatalf("DSN %q %v", got, err)
	}
	os.WriteFile(dsn, []byte("\n\n"), 0o600)
	if _, err := (Store{DSNFile: dsn}).DSN(); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty DSN file: %v", err)
	}
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	if got, err := (Broker{ServicePasswordFile: pw}).ServicePassword(); err != nil || got != "s3cret" {
		t.Fatalf("ServicePassword %q %v", got, err)
	}
	if _, err := (Broker{ServicePasswordFile: filepath.Join(dir, "absent")}).ServicePassword(); err == nil || !strings.Contains(err.Error(), "broker.service_password_file") {
		t.Fatalf("absent password file: %v", err)
	}
}

var fuzzSeeds = []string{"good-full.yaml", "good-external.yaml", "bad-unknown-key.yaml", "bad-inline-credentials.yaml",
	"bad-values.yaml", "bad-external.yaml", "bad-cluster.yaml", "bad-sqlite-dsn.yaml", "bad-type.yaml", "bad-two-docs.yaml", "bad-store-key.yaml"}

// FuzzParse: any input gives a config or an error, never a panic.
func FuzzParse(f *testing.F) {
	f.Add(Example())
	for _, name := range fuzzSeeds {
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

func TestSigningKeyPath(t *testing.T) {
	c := Defaults()
	if got, want := c.SigningKeyPath(), filepath.Join("var/region", "gallery-signing.key"); got != want {
		t.Errorf("default signing key %q, want %q", got, want)
	}
	c.Gallery.SigningKeyFile = "/etc/dozor/gallery.key"
	if got := c.SigningKeyPath(); got != "/etc/dozor/gallery.key" {
		t.Errorf("configured signing key %q", got)
	}
}

func TestStoreKeyPath(t *testing.T) {
	c := Defaults()
	if got, want := c.StoreKeyPath(), filepath.Join("var/region", "store.key"); got != want {
		t.Errorf("default store key %q, want %q", got, want)
	}
	c.Store.KeyFile = "/etc/dozor/store.key"
	if got := c.StoreKeyPath(); got != "/etc/dozor/store.key" {
		t.Errorf("configured store key %q", got)
	}
	c.Gallery.SigningKeyFile = "/etc/dozor/store.key"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "store.key_file") {
		t.Errorf("store key shared with the signing key: %v", err)
	}
}
