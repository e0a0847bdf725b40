package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/testenv"
)

func TestTestData(t *testing.T) {
	shared := testenv.SharedDir(t)
	t.Setenv(EnvShared, shared)
	p, err := TestData(DefaultClip)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(shared, "testdata", DefaultClip); p != want {
		t.Errorf("clip at %s, want %s", p, want)
	}
	// The first that exists wins.
	p, err = TestData("faces/no-such.jpg", DefaultImages[0])
	if err != nil || !strings.HasSuffix(p, DefaultImages[0]) {
		t.Errorf("TestData with a missing first choice = %q, %v", p, err)
	}

	empty := t.TempDir()
	t.Setenv(EnvShared, empty)
	_, err = TestData(DefaultImages...)
	if err == nil {
		t.Fatal("found test data in an empty folder")
	}
	for _, s := range []string{filepath.Join(empty, "testdata", DefaultImages[1]), "$" + EnvShared, "set " + EnvShared} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q: %v", s, err)
		}
	}
}

// Without DOZOR_SHARED the data is looked for beside the working
// directory, as `make` and the models directory do.
func TestTestDataBesideWorkingDirectory(t *testing.T) {
	shared := testenv.SharedDir(t)
	work := filepath.Join(t.TempDir(), "checkout")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(shared, filepath.Join(filepath.Dir(work), "shared")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	t.Setenv(EnvShared, "")
	p, err := TestData(DefaultClip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil || !filepath.IsAbs(p) {
		t.Errorf("TestData = %q (%v), want an absolute path to the clip", p, err)
	}

	t.Chdir(t.TempDir())
	if _, err := TestData(DefaultClip); err == nil || !strings.Contains(err.Error(), EnvShared+" is not set") {
		t.Errorf("no shared folder beside the working directory: %v", err)
	}
}
