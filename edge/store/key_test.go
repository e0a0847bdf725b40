package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	good := bytes.Repeat([]byte{0x5a}, KeySize)
	cases := []struct {
		name    string
		content []byte
		mode    os.FileMode
		dir     bool
		ok      bool
		message string
	}{
		{"mode 0600", good, 0o600, false, true, ""},
		{"mode 0400", good, 0o400, false, true, ""},
		{"group readable", good, 0o640, false, false, "chmod 600"},
		{"world readable", good, 0o604, false, false, "chmod 600"},
		{"group writable only", good, 0o620, false, false, "chmod 600"},
		{"one byte short", good[:KeySize-1], 0o600, false, false, "exactly 32"},
		{"one byte long", append(good, 1), 0o600, false, false, "exactly 32"},
		{"hex text instead of bytes", []byte(hex.EncodeToString(good)), 0o600, false, false, "exactly 32"},
		{"all zero", make([]byte, KeySize), 0o600, false, false, "zero bytes"},
		{"empty", nil, 0o600, false, false, "exactly 32"},
		{"a directory", nil, 0o700, true, false, "not a regular file"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, fmt.Sprintf("k%d", i))
			if tc.dir {
				must(t, os.Mkdir(p, tc.mode))
			} else {
				must(t, os.WriteFile(p, tc.content, 0o600))
				must(t, os.Chmod(p, tc.mode))
			}
			_, err := LoadKeyFile(p)
			if tc.ok {
				must(t, err)
				return
			}
			if !errors.Is(err, ErrKeyFile) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("error %v: want ErrKeyFile saying %q", err, tc.message)
			}
		})
	}
	if _, err := LoadKeyFile(filepath.Join(dir, "missing")); !errors.Is(err, ErrKeyFile) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing key file: %v", err)
	}
}

func TestOpenRefusesLooseKeyFile(t *testing.T) {
	keyPath := newKeyFile(t)
	must(t, os.Chmod(keyPath, 0o644))
	_, err := Open(filepath.Join(t.TempDir(), "f.db"), Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath})
	if !errors.Is(err, ErrKeyFile) || !strings.Contains(err.Error(), "0644") {
		t.Fatalf("Open with a world-readable key: %v", err)
	}
}

func TestGenerateKeyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k")
	k1, err := GenerateKeyFile(p)
	must(t, err)
	fi, err := os.Stat(p)
	must(t, err)
	if fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Errorf("key file mode %#o size %d", fi.Mode().Perm(), fi.Size())
	}
	before := fileSum(t, p)
	if _, err := GenerateKeyFile(p); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("second GenerateKeyFile on the same path: %v", err)
	}
	if fileSum(t, p) != before {
		t.Error("existing key file was changed")
	}
	k2, err := LoadKeyFile(p)
	must(t, err)
	if k1.Fingerprint() != k2.Fingerprint() || len(k1.Fingerprint()) != 16 {
		t.Errorf("fingerprints %q %q", k1.Fingerprint(), k2.Fingerprint())
	}
	k3, err := GenerateKeyFile(p + "2")
	must(t, err)
	if k3.Fingerprint() == k1.Fingerprint() {
		t.Error("two generated keys share a fingerprint")
	}
}

// TestKeyNeverPrinted renders a key every way a program might and checks
// that neither its bytes nor their hex form ever appear.
func TestKeyNeverPrinted(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k")
	k, err := GenerateKeyFile(p)
	must(t, err)
	raw, err := os.ReadFile(p)
	must(t, err)
	type holder struct {
		Key    Key
		hidden Key
		Ptr    *Key
	}
	h := holder{Key: k, hidden: k, Ptr: &k}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		outs = append(outs, fmt.Sprintf(verb, k), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	j, err := json.Marshal(h)
	must(t, err)
	outs = append(outs, string(j), k.String(), k.GoString())
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("key", "key", k, "holder", h)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("key", "key", k)
	outs = append(outs, logBuf.String())

	s, _, keyPath := openNew(t)
	kk, err := LoadKeyFile(keyPath)
	must(t, err)
	outs = append(outs, fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s))
	storeRaw, _ := os.ReadFile(keyPath)

	for _, out := range outs {
		for _, secret := range [][]byte{raw, storeRaw} {
			if bytes.Contains([]byte(out), secret) ||
				strings.Contains(strings.ToLower(out), hex.EncodeToString(secret)[:16]) ||
				strings.Contains(out, fmt.Sprint(secret[:4])[1:8]) {
				t.Errorf("key material printed: %s", out)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(k), k.Fingerprint()) || s.KeyFingerprint() != kk.Fingerprint() {
		t.Error("fingerprint missing")
	}
}

// TestWrongKeyAndNoKeyMode shows crypto-erase: with another key the store
// is refused; without a key it opens read-only, non-biometric data and the
// audit log are readable, and biometric data is not.
func TestWrongKeyAndNoKeyMode(t *testing.T) {
	ctx := context.Background()
	s, path, _ := openSite(t)
	vec := unitVec(1, 128)
	tid, err := s.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: "P-1", Model: testModel, Vec: vec, Quality: 0.8, Source: "booking photo"})
	must(t, err)
	sg := sightingN(1, "P-1")
	sg.Crop = testJPEG(t, 1, 0)
	_, err = s.RecordSighting(ctx, sg, msg("dozor/F-07/sightings"))
	must(t, err)
	var sealed []byte
	must(t, s.r.QueryRow(`SELECT vector FROM face_templates WHERE id = ?`, tid).Scan(&sealed))
	must(t, s.Close())
	before := fileSum(t, path)

	otherKey := newKeyFile(t)
	if _, err := Open(path, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: otherKey}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with another key: %v", err)
	}
	// The refusal is not just a check value: the other key cannot open the
	// ciphertext either.
	k2, err := LoadKeyFile(otherKey)
	must(t, err)
	seal2, err := newSealer(k2)
	must(t, err)
	if _, err := seal2.open(sealed, templateAD(tid, "P-1", testModel, 128)); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("template opened with another key: %v", err)
	}

	ro, err := Open(path, Options{SQLite: lib, NoKey: true})
	must(t, err)
	defer ro.Close()
	if ro.KeyFingerprint() != "none" {
		t.Errorf("fingerprint in no-key mode: %q", ro.KeyFingerprint())
	}
	persons, err := ro.Persons(ctx)
	must(t, err)
	if len(persons) != 3 {
		t.Errorf("%d persons readable without the key, want 3", len(persons))
	}
	got, err := ro.Sighting(ctx, sg.ID)
	must(t, err)
	if !got.HasCrop || got.PersonID != "P-1" {
		t.Errorf("sighting without key: %+v", got)
	}
	head, err := ro.VerifyAudit(ctx)
	must(t, err)
	entries, err := ro.AuditEntries(ctx, 0, 100)
	must(t, err)
	if head.Seq == 0 || int(head.Seq) != len(entries) {
		t.Errorf("audit head %d, %d entries", head.Seq, len(entries))
	}
	if _, err := ro.Pending(ctx, 0, 10); err != nil {
		t.Error(err)
	}

	for name, err := range map[string]error{
		"Templates": func() error { _, err := ro.Templates(ctx, testModel, SystemActor); return err }(),
		"Crop":      func() error { _, err := ro.Crop(ctx, "guard", sg.ID); return err }(),
		"AddTemplate": func() error {
			_, err := ro.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: "P-1", Model: testModel, Vec: vec, Quality: 1, Source: "x"})
			return err
		}(),
	} {
		if !errors.Is(err, ErrNoKey) {
			t.Errorf("%s without key: %v, want ErrNoKey", name, err)
		}
	}
	for name, err := range map[string]error{
		"PutPerson": ro.PutPerson(ctx, "supervisor", Person{ID: "P-9", DisplayName: "X", Facility: "F", Status: StatusActive}),
		"RecordSighting": func() error {
			_, err := ro.RecordSighting(ctx, sightingN(2, ""), nil)
			return err
		}(),
		"MarkSent": ro.MarkSent(ctx, []uint64{1}),
		"Audit":    ro.Audit(ctx, "auditor", "audit.view", "log", ""),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s without key: %v, want ErrReadOnly", name, err)
		}
	}
	must(t, ro.Close())
	if fileSum(t, path) != before {
		t.Error("no-key mode or the refused key changed the database file")
	}
}
