package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
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
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
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
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/healthz: %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz not served after 60s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
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
