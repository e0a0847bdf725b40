// Package testenv holds what the tests of many packages share: finding
// the shared models and test data, the folder where pictures are kept for
// people to look at, and the checks every table test repeats. The models
// and data are never committed; tests that need them fail (never skip)
// when absent, so a CI run without data cannot pass by testing nothing.
package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// SharedDir returns the directory holding models/ and testdata/: $DOZOR_SHARED,
// else ../shared beside the repository root.
func SharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("DOZOR_SHARED"); d != "" {
		return mustDir(t, d, "DOZOR_SHARED")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	return mustDir(t, filepath.Join(root, "..", "shared"), "DOZOR_SHARED")
}

// ModelDir returns $DOZOR_MODELS, else SharedDir/models.
func ModelDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("DOZOR_MODELS"); d != "" {
		return mustDir(t, d, "DOZOR_MODELS")
	}
	return mustDir(t, filepath.Join(SharedDir(t), "models"), "DOZOR_MODELS")
}

// TestData returns SharedDir/testdata/<rel>.
func TestData(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(SharedDir(t), "testdata", rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test data %s missing (set DOZOR_SHARED to the folder holding testdata/): %v", p, err)
	}
	return p
}

func mustDir(t testing.TB, d, env string) string {
	t.Helper()
	st, err := os.Stat(d)
	if err != nil || !st.IsDir() {
		t.Fatalf("%s is not a directory: set %s to the shared models/test data folder (see README): %v", d, env, err)
	}
	abs, _ := filepath.Abs(d)
	return abs
}
