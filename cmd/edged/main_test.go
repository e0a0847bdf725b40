package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/internal/testenv"
)

// writeConfig writes a configuration for a box without cameras whose
// broker is not there: enough to start, serve /healthz and stop.
func writeConfig(t *testing.T, modelDir, listen, extra string) string {
	t.Helper()
	dir := t.TempDir()
	keyDir := filepath.Join(dir, "key")
	if err := os.Mkdir(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`site: {region: north, id: ik5}
models: {dir: %q}
recognizer: {workers: 1}
store: {path: %q, key_file: %q}
uplink: {broker: "tcp://127.0.0.1:1"}
http: {listen: %q}
%s`, modelDir, filepath.Join(dir, "dozor.db"), filepath.Join(keyDir, "dozor.key"), listen, extra)
	p := filepath.Join(dir, "edged.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExitStatus(t *testing.T) {
	modelDir := testenv.ModelDir(t)
	cases := []struct {
		name   string
		args   func(t *testing.T) []string
		code   int
		stderr string
	}{
		{"no flags", func(*testing.T) []string { return nil }, 2, "-config is required"},
		{"stray argument", func(*testing.T) []string { return []string{"x"} }, 2, "unexpected arguments"},
		{"missing file", func(t *testing.T) []string { return []string{"-config", filepath.Join(t.TempDir(), "none.yaml")} }, 1,
			"invalid configuration"},
		{"unknown key", func(t *testing.T) []string {
			return []string{"-config", writeConfig(t, modelDir, "127.0.0.1:0", "colour: red\n")}
		}, 1, `unknown key "colour"`},
		{"invalid value", func(t *testing.T) []string {
			return []string{"-config", writeConfig(t, modelDir, "127.0.0.1:0", "log: {level: loud}\n")}
		}, 1, "log.level"},
		{"models missing", func(t *testing.T) []string {
			return []string{"-config", writeConfig(t, t.TempDir(), "127.0.0.1:0", "")}
		}, 1, "cannot start: models:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(c.args(t), &stdout, &stderr); code != c.code || !strings.Contains(stderr.String(), c.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), c.code, c.stderr)
			}
		})
	}
}

func TestPrintExampleConfig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-print-example-config"}, &stdout, &stderr); code != 0 || !bytes.Equal(stdout.Bytes(), config.Example()) {
		t.Fatalf("exit %d, %d bytes (want the example's %d)", code, stdout.Len(), len(config.Example()))
	}
}

// The real binary: it starts, serves /healthz, reloads on SIGHUP and stops
// cleanly with status 0 on SIGTERM.
func TestBinaryStartsAndStops(t *testing.T) {
	modelDir := testenv.ModelDir(t)
	bin := filepath.Join(t.TempDir(), "edged")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-config", writeConfig(t, modelDir, addr, ""))
	logs := newOutput() // read while edged writes to it
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("edged output:\n%s", logs.String())
		}
	}()
	// The daemon says it runs once it serves.
	if !logs.waitFor("daemon running", 60*time.Second) {
		t.Fatal("edged not running after 60s")
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// SIGTERM only once the reload is done: sent together, the two
	// signals race, and the stop may win.
	if !logs.waitFor("gallery reloaded", 30*time.Second) {
		t.Fatal("no \"gallery reloaded\" within 30s of SIGHUP")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("edged exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("edged did not stop within 30s of SIGTERM")
	}
	for _, want := range []string{"first start: created a new store key", "SIGHUP", "gallery reloaded", "stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// output collects a child process's output and wakes waitFor at each
// write.
type output struct {
	testenv.Buffer
	wrote chan struct{} // capacity 1: something was written since the last look
}

func newOutput() *output { return &output{wrote: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	n, err := o.Buffer.Write(p)
	select {
	case o.wrote <- struct{}{}:
	default:
	}
	return n, err
}

// waitFor reports whether the output contains s within limit.
func (o *output) waitFor(s string, limit time.Duration) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for !strings.Contains(o.String(), s) {
		select {
		case <-o.wrote:
		case <-deadline.C:
			return false
		}
	}
	return true
}

// -healthcheck reads http.listen from the configuration and exits 0 only
// when /healthz answers 200.
func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz" && status == http.StatusFound:
			http.Redirect(w, r, "/elsewhere", status)
		case r.URL.Path == "/healthz":
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"healthy":%t,"problems":["store: disk full"]}`, status == http.StatusOK)
		case r.URL.Path == "/elsewhere":
			w.WriteHeader(http.StatusOK)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	cfg := writeConfig(t, t.TempDir(), addr, "")

	check := func() (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run([]string{"-healthcheck", "-config", cfg}, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, stdout, stderr := check(); code != 0 || !strings.Contains(stdout, "healthy") {
		t.Errorf("200: exit %d, stdout %q, stderr %q; want 0", code, stdout, stderr)
	}
	status = http.StatusServiceUnavailable
	if code, _, stderr := check(); code != 1 || !strings.Contains(stderr, "503") || !strings.Contains(stderr, "disk full") {
		t.Errorf("503: exit %d, stderr %q; want 1 naming the status and the body", code, stderr)
	}

	// A redirect is not followed, and an address where nothing listens is
	// unhealthy.
	status = http.StatusFound
	if code, _, stderr := check(); code != 1 || !strings.Contains(stderr, "302") {
		t.Errorf("redirect: exit %d, stderr %q; want 1", code, stderr)
	}
	srv.Close()
	if code, _, stderr := check(); code != 1 || !strings.Contains(stderr, "unhealthy") {
		t.Errorf("server gone: exit %d, stderr %q; want 1", code, stderr)
	}

	// -config is still required.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-healthcheck"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "-config is required") {
		t.Errorf("no -config: exit %d, stderr %q; want 2", code, stderr.String())
	}
}

// A daemon that does not answer within the timeout is unhealthy, and the
// check does not wait longer than that: it gives up on a daemon that
// would never answer.
func TestHealthcheckTimeout(t *testing.T) {
	gaveUp := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
		close(gaveUp)
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := checkHealth(srv.Listener.Addr().String(), 200*time.Millisecond, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "Timeout exceeded") {
		t.Errorf("exit %d, stderr %q; want 1 and the timeout", code, stderr.String())
	}
	select {
	case <-gaveUp:
	case <-time.After(10 * time.Second):
		t.Error("the check returned, yet did not hang up on the daemon")
	}
}

func TestHealthAddr(t *testing.T) {
	testenv.CheckFunc(t, "healthAddr", healthAddr, map[string]string{
		"127.0.0.1:8080":    "127.0.0.1:8080",
		":8080":             "127.0.0.1:8080",
		"0.0.0.0:8080":      "127.0.0.1:8080",
		"[::]:8080":         "[::1]:8080",
		"[fe80::1]:8080":    "[fe80::1]:8080",
		"box.example:18080": "box.example:18080",
	})
}
