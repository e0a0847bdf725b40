package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a throw-away certificate authority for tests of TLS to a
// broker, written as PEM files: a server certificate for 127.0.0.1 and
// localhost, a client certificate, and a second CA that signed nothing.
type PKI struct {
	CAFile, OtherCA       string
	ServerCert, ServerKey string
	ClientCert, ClientKey string
}

// NewPKI makes a PKI in a temporary folder, with the client certificate
// issued to client. The certificates are valid from 1999, so that
// handshakes in a synctest bubble (whose clock starts in 2000) verify,
// until a year from now, far from any expiry warning.
func NewPKI(t testing.TB, client string) PKI {
	t.Helper()
	dir := t.TempDir()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := int64(1)
	sign := func(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) *x509.Certificate {
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
		tmpl.NotAfter = time.Now().Add(365 * 24 * time.Hour)
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	writePEM := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	writeKey := func(name string, k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return writePEM(name, "PRIVATE KEY", der)
	}
	caTmpl := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	}
	caKey := newKey()
	ca := sign(caTmpl("dozor test CA"), nil, &caKey.PublicKey, caKey)
	otherKey := newKey()
	other := sign(caTmpl("unrelated CA"), nil, &otherKey.PublicKey, otherKey)

	srvKey := newKey()
	srv := sign(&x509.Certificate{Subject: pkix.Name{CommonName: "broker"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca, &srvKey.PublicKey, caKey)
	cliKey := newKey()
	cli := sign(&x509.Certificate{Subject: pkix.Name{CommonName: client}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, &cliKey.PublicKey, caKey)
	return PKI{
		CAFile:     writePEM("ca.pem", "CERTIFICATE", ca.Raw),
		OtherCA:    writePEM("other-ca.pem", "CERTIFICATE", other.Raw),
		ServerCert: writePEM("server.pem", "CERTIFICATE", srv.Raw),
		ServerKey:  writeKey("server.key", srvKey),
		ClientCert: writePEM("client.pem", "CERTIFICATE", cli.Raw),
		ClientKey:  writeKey("client.key", cliKey),
	}
}
