package edge

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/internal/testenv"
)

// TestMonitorListensWithTLS serves the daemon's handler on the listener
// it opens with a certificate configured: HTTPS only.
func TestMonitorListensWithTLS(t *testing.T) {
	pki := testenv.NewPKI(t, "unused")
	cfg := config.Defaults()
	cfg.HTTP.Listen, cfg.HTTP.CertFile, cfg.HTTP.KeyFile = "127.0.0.1:0", pki.ServerCert, pki.ServerKey
	d := &Daemon{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	ln, err := d.listen()
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			t.Error("a request arrived without TLS")
		}
		w.Write([]byte("ok"))
	})}
	go srv.Serve(ln)
	defer srv.Close()

	ca, err := os.ReadFile(pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HTTPS: %s", resp.Status)
	}
	if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP was served on the TLS port")
		}
	}

	cfg.HTTP.KeyFile = pki.ClientKey // the wrong key for the certificate
	d.cfg = cfg
	if ln, err := d.listen(); err == nil {
		ln.Close()
		t.Error("a certificate with the wrong key was accepted")
	} else if !strings.Contains(err.Error(), "http.cert_file") {
		t.Errorf("error %q does not name the setting", err)
	}
}

func TestPlainHTTPBeyondLoopbackIsWarned(t *testing.T) {
	for _, c := range []struct {
		addr string
		tls  bool
		warn bool
	}{
		{"127.0.0.1:8080", false, false},
		{"[::1]:8080", false, false},
		{"10.1.2.3:8080", false, true},
		{"0.0.0.0:8080", false, true},
		{"10.1.2.3:8080", true, false},
	} {
		var buf testenv.Buffer
		cfg := config.Defaults()
		if c.tls {
			cfg.HTTP.CertFile, cfg.HTTP.KeyFile = "cert.pem", "key.pem"
		}
		d := &Daemon{cfg: cfg, log: slog.New(slog.NewTextHandler(&buf, nil))}
		addr, err := net.ResolveTCPAddr("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		d.warnPlainHTTP(addr)
		if got := strings.Contains(buf.String(), "WITHOUT TLS"); got != c.warn {
			t.Errorf("%s (tls %v): warned %v, want %v: %q", c.addr, c.tls, got, c.warn, buf.String())
		}
	}
}
