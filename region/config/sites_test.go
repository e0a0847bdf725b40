package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// A bcrypt hash of "pw" at the lowest cost, so tests stay fast.
var testHash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}()

func TestParseSites(t *testing.T) {
	cases := []struct {
		name  string
		data  string
		sites []string
		want  []string // error substrings; nil: no error
	}{
		{"empty", "", nil, nil},
		{"comments", "# sites\n\n  ik5 " + testHash + "  \nik5.a " + testHash + "\n", []string{"ik5", "ik5.a"}, nil},
		{"one field", "ik5\n", nil, []string{"line 1", "found 1 fields"}},
		{"bad id", "# x\nik/5 " + testHash + "\n", nil, []string{"line 2", "site id"}},
		{"plain password", "ik5 secret123\n", nil, []string{"line 1", "not a bcrypt hash"}},
		{"duplicate", "ik5 " + testHash + "\nik5 " + testHash + "\n", nil, []string{"line 2", "already on line 1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseSites([]byte(c.data))
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(c.sites) {
					t.Fatalf("got %+v", got)
				}
				for i, s := range c.sites {
					if got[i].Site != s || got[i].PasswordHash != testHash {
						t.Errorf("site %d: %+v", i, got[i])
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "secret123") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestAddSite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sites")
	pw1, err := AddSite(path, "ik5")
	if err != nil {
		t.Fatal(err)
	}
	pw2, err := AddSite(path, "ik5.a")
	if err != nil {
		t.Fatal(err)
	}
	if pw1 == pw2 || len(pw1) < 30 {
		t.Fatalf("passwords %q %q", pw1, pw2)
	}
	if _, err := AddSite(path, "ik5"); !errors.Is(err, ErrSiteExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := AddSite(path, "-x"); err == nil {
		t.Fatal("bad id accepted")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	sites, err := ReadSites(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) != 2 || sites[0].Site != "ik5" || sites[1].Site != "ik5.a" {
		t.Fatalf("sites %+v", sites)
	}
	for i, pw := range []string{pw1, pw2} {
		if bcrypt.CompareHashAndPassword([]byte(sites[i].PasswordHash), []byte(pw)) != nil {
			t.Errorf("site %s: the stored hash is not of the password printed", sites[i].Site)
		}
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), pw1) {
		t.Error("the password itself is in the file")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".sites.*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func FuzzParseSites(f *testing.F) {
	f.Add([]byte("ik5 " + testHash + "\n# c\nik6 " + testHash))
	f.Add([]byte("ik5\n"))
	f.Add([]byte("ik5 secret\nik5 " + testHash))
	f.Fuzz(func(t *testing.T, data []byte) {
		sites, err := ParseSites(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, s := range sites {
			if seen[s.Site] || s.PasswordHash == "" {
				t.Fatalf("accepted a duplicate or empty entry: %+v", sites)
			}
			seen[s.Site] = true
		}
	})
}
