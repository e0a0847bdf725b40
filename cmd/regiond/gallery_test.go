package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/sync/gallerysync"
)

func TestGalleryPubkey(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "regiond.yaml")
	keyPath := filepath.Join(dir, "keys", "gallery.key")
	if err := os.WriteFile(cfgPath, []byte("region: {id: north}\ndata: {dir: "+dir+"}\ngallery: {signing_key_file: "+keyPath+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pubkey := func() (string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if got := run([]string{"gallery", "pubkey", "-config", cfgPath}, &stdout, &stderr); got != 0 {
			t.Fatalf("exit %d; stderr:\n%s", got, stderr.String())
		}
		return strings.TrimSpace(stdout.String()), stderr.String()
	}
	first, note := pubkey()
	if !strings.Contains(note, "created the region's gallery signing key "+keyPath) {
		t.Errorf("first run does not say it made the key: %q", note)
	}
	if _, err := gallerysync.ParsePublicKey(first); err != nil {
		t.Fatalf("printed %q: %v", first, err)
	}
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	second, note := pubkey()
	if second != first || note != "" {
		t.Errorf("second run printed %q (stderr %q), want the same key %q and nothing else", second, note, first)
	}

	// A key others may read is refused, never replaced.
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if got := run([]string{"gallery", "pubkey", "-config", cfgPath}, &stdout, &stderr); got != 1 ||
		!strings.Contains(stderr.String(), "chmod 600") {
		t.Errorf("exit %d, stderr %q; want 1 and the mode named", got, stderr.String())
	}
	for _, args := range [][]string{{"gallery"}, {"gallery", "pubkey"}, {"gallery", "rotate", "-config", cfgPath}} {
		stderr.Reset()
		if got := run(args, &stdout, &stderr); got != 2 || !strings.Contains(stderr.String(), "usage: regiond gallery pubkey") {
			t.Errorf("%q: exit %d, stderr %q", args, got, stderr.String())
		}
	}
}
