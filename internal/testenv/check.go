package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ErrAsWanted fails t unless err contains want (no error at all when want
// is empty), and reports whether a value came back to compare: the table
// test's case ends when it returns false.
func ErrAsWanted(t testing.TB, err error, want string) bool {
	t.Helper()
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want it to contain %q", err, want)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// CheckFunc fails t for every input of cases whose f(input) is not the
// output it maps to; name is f's name in the failures.
func CheckFunc[In, Out comparable](t testing.TB, name string, f func(In) Out, cases map[In]Out) {
	t.Helper()
	for in, want := range cases {
		if got := f(in); got != want {
			t.Errorf("%s(%#v) = %#v, want %#v", name, in, got, want)
		}
	}
}

// WriteFiles writes each file of files below root, making the folders on
// the way: the key is the path relative to root, with slashes, the value
// the content. It builds the small trees table tests read.
func WriteFiles(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
