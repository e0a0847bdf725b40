package hwtest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/hwtest"
	"github.com/dozor-edge/dozor/hw"
	"github.com/dozor-edge/dozor/internal/mosquitto"
	"github.com/dozor-edge/dozor/internal/testenv"
)

// TestUplinkTLSAndCredentials checks the uplink section through the
// configuration a box really has: an ssl:// broker with a CA file, a user
// and a password file. The right settings pass; a wrong password, a CA
// that did not sign the broker and a missing password file each fail with
// the fix that names the setting to correct.
func TestUplinkTLSAndCredentials(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t, "region CA")
	other, _ := newCA(t, "some other CA")
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)
	writePEM(t, filepath.Join(dir, "other-ca.pem"), "CERTIFICATE", other.Raw)
	serverCert, serverKey := newLeaf(t, ca, caKey)
	writePEM(t, filepath.Join(dir, "server.pem"), "CERTIFICATE", serverCert)
	writePEM(t, filepath.Join(dir, "server.key"), "EC PRIVATE KEY", serverKey)

	passwd := filepath.Join(dir, "passwd")
	tool, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Fatalf("mosquitto_passwd (package mosquitto, installed by scripts/deps.sh): %v", err)
	}
	if out, err := exec.Command(tool, "-c", "-b", passwd, "ik5", "right-horse").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	broker, err := mosquitto.Start(dir, mosquitto.Options{PasswordFile: passwd,
		Listener: "cafile " + filepath.Join(dir, "ca.pem") + "\ncertfile " + filepath.Join(dir, "server.pem") + "\nkeyfile " + filepath.Join(dir, "server.key") + "\n"})
	if err != nil {
		t.Fatalf("mosquitto: %v", err)
	}
	t.Cleanup(func() { broker.Stop(0) })
	secret := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	right, wrong := secret("right.pass", "right-horse\n"), secret("wrong.pass", "battery-staple\n")

	cases := []struct {
		name            string
		ca, pass        string
		verdict         hwtest.Verdict
		value, fix      string
		roundTripPassed bool
	}{
		{"right settings", "ca.pem", right, hwtest.Pass, "TLS 1.3", "", true},
		{"wrong password", "ca.pem", wrong, hwtest.Fail, "ik5", "uplink.username", false},
		{"wrong CA", "other-ca.pem", right, hwtest.Fail, "certificate", "uplink.ca_file", false},
		{"missing password file", "ca.pem", filepath.Join(dir, "absent.pass"), hwtest.Fail, "password_file", "password file", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Site.Region, cfg.Site.ID = "north", "ik5"
			cfg.Models.Dir = testenv.ModelDir(t)
			cfg.Store.Path = filepath.Join(t.TempDir(), "dozor.db")
			cfg.Uplink.Broker = "ssl://" + broker.Addr()
			cfg.Uplink.Username, cfg.Uplink.PasswordFile, cfg.Uplink.CAFile = "ik5", c.pass, filepath.Join(dir, c.ca)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := hwtest.Run(ctx, cfg, hwtest.Options{Roots: hw.Roots{Proc: "../../hw/testdata/x86-vm/proc", Sys: "../../hw/testdata/x86-vm/sys"},
				WriteBytes: -1, Pings: 3, SpeedBudget: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			b, ok := find(rep, "uplink", "broker")
			if !ok {
				t.Fatalf("no broker check: %+v", rep.Checks)
			}
			if b.Verdict != c.verdict || !strings.Contains(b.Value, c.value) || !strings.Contains(b.Fix, c.fix) {
				t.Errorf("broker: %s %q fix %q; want %s with %q and fix %q", b.Verdict, b.Value, b.Fix, c.verdict, c.value, c.fix)
			}
			rt, ok := find(rep, "uplink", "round trip")
			if ok != c.roundTripPassed || ok && rt.Verdict != hwtest.Pass {
				t.Errorf("round trip: %v %+v", ok, rt)
			}
			if strings.Contains(b.Value+b.Fix, "right-horse") || strings.Contains(b.Value+b.Fix, "battery-staple") {
				t.Error("a password leaked into the report")
			}
		})
	}
}

func newCA(t *testing.T, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(2 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

// newLeaf returns a server certificate for 127.0.0.1 signed by ca, and its
// key, both DER.
func newLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey) ([]byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der, kb
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
