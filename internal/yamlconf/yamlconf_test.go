package yamlconf

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type section struct {
	Name  string        `yaml:"name"`
	Count int           `yaml:"count"`
	Ratio float64       `yaml:"ratio"`
	Wait  time.Duration `yaml:"wait"`
	List  []string      `yaml:"list"`
	Inner inner         `yaml:"inner"`
}

type inner struct {
	Flag string `yaml:"flag"`
	Bool bool   `yaml:"bool"`
}

type conf struct {
	Top   string    `yaml:"top"`
	Sec   section   `yaml:"sec"`
	Items []section `yaml:"items"`
}

func defaults() conf { return conf{Top: "t", Sec: section{Name: "n", Count: 1}} }

func parse(data []byte) (conf, error) {
	c := defaults()
	if err := Decode(data, &c); err != nil {
		return conf{}, err
	}
	return c, nil
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // substrings of the error; none means success
	}{
		{"", nil},
		{"sec:\n  count: 4\n", nil},
		{"sec:\n  nmae: x\n", []string{`unknown key "nmae"`, "line 2"}},
		{"sec:\n  count: many\n", []string{"line 2", "many"}},
		{"top: a\n---\ntop: b\n", []string{"more than one YAML document"}},
		{"top: [\n", []string{"yaml:"}},
	} {
		c, err := parse([]byte(tc.in))
		if tc.want == nil {
			if err != nil {
				t.Errorf("%q: %v", tc.in, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q: decoded to %+v, want an error", tc.in, c)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tc.in, err, w)
			}
		}
	}
	c, err := parse([]byte("sec:\n  count: 4\n"))
	if err != nil || c.Sec.Count != 4 || c.Sec.Name != "n" || c.Top != "t" {
		t.Errorf("decoded %+v, %v: want count 4 over the defaults", c, err)
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{
		"X_SEC_NAME":       "over",
		"X_SEC_COUNT":      " 7 ",
		"X_SEC_RATIO":      "0.5",
		"X_SEC_WAIT":       "1m",
		"X_SEC_LIST":       "a, b,,c",
		"X_SEC_INNER_FLAG": "on",
		"X_TOP":            "top-level scalars are not overridable",
		"Y_SEC_NAME":       "another prefix",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c := defaults()
	if err := ApplyEnv(&c, "X_", lookup); err != nil {
		t.Fatal(err)
	}
	want := defaults()
	want.Sec = section{Name: "over", Count: 7, Ratio: 0.5, Wait: time.Minute, List: []string{"a", "b", "c"}, Inner: inner{Flag: "on"}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}

	for k, v := range map[string]string{
		"X_SEC_COUNT":      "lots",
		"X_SEC_RATIO":      "half",
		"X_SEC_WAIT":       "10",
		"X_SEC_INNER_BOOL": "true",
	} {
		env = map[string]string{k: v}
		err := ApplyEnv(&c, "X_", lookup)
		if err == nil || !strings.HasPrefix(err.Error(), k+" (sec.") {
			t.Errorf("%s=%s: error %v, want one naming the variable and the key", k, v, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := File[conf]{MaxSize: 64, EnvPrefix: "X_", Parse: parse, Validate: func(c conf) error {
		if c.Sec.Count < 0 {
			return errors.New("sec.count: must not be negative")
		}
		return nil
	}}
	env := func(k string) (string, bool) { return "9", k == "X_SEC_COUNT" }

	c, err := f.Load(write("good.yaml", "sec:\n  count: 2\n"), env)
	if err != nil || c.Sec.Count != 9 {
		t.Errorf("got %+v, %v: want the environment over the file", c, err)
	}
	if c, err = f.Load(write("good.yaml", "sec:\n  count: 2\n"), nil); err != nil || c.Sec.Count != 2 {
		t.Errorf("got %+v, %v: want the file alone with a nil env", c, err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.yaml"), "config: open "},
		{write("big.yaml", "# "+strings.Repeat("x", 64)+"\n"), "larger than 64 bytes"},
		{write("bad.yaml", "sec:\n  nmae: x\n"), `unknown key "nmae"`},
		{write("neg.yaml", "sec:\n  count: -1\n"), "sec.count: must not be negative"},
	} {
		if _, err := f.Load(tc.path, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", filepath.Base(tc.path), err, tc.want)
		}
	}
	if _, err := f.Load(write("exact.yaml", "# "+strings.Repeat("x", 61)+"\n"), nil); err != nil {
		t.Errorf("a file of exactly MaxSize bytes: %v", err)
	}
}
