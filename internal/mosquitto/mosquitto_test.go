package mosquitto

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func dial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

func TestStartRestartStop(t *testing.T) {
	// The binary is required: a missing broker fails, never skips.
	if _, err := os.Stat(DefaultBin); err != nil {
		t.Fatalf("this test needs a real MQTT broker at %s (apt-get install mosquitto): %v", DefaultBin, err)
	}
	b, err := Start(t.TempDir(), Options{Persist: true, PlainListeners: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop(syscall.SIGTERM) })
	if !strings.HasPrefix(b.URL(), "tcp://127.0.0.1:") || b.URL() != "tcp://"+b.Addr() {
		t.Fatalf("URL %q, Addr %q", b.URL(), b.Addr())
	}
	addrs := append([]string{b.Addr()}, b.PlainAddrs()...)
	if len(addrs) != 2 {
		t.Fatalf("listeners %v", addrs)
	}
	for _, a := range addrs {
		if err := dial(a); err != nil {
			t.Fatalf("dial %s: %v", a, err)
		}
	}
	b.Stop(syscall.SIGKILL)
	if err := dial(b.Addr()); err == nil {
		t.Fatalf("%s still accepts connections after Stop", b.Addr())
	}
	port := b.Port()
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	if b.Port() != port {
		t.Fatalf("restarted on port %d, want %d", b.Port(), port)
	}
	for _, a := range addrs {
		if err := dial(a); err != nil {
			t.Fatalf("dial %s after restart: %v\n%s", a, err, b.Log())
		}
	}
	b.Stop(syscall.SIGTERM)
	b.Stop(syscall.SIGTERM) // a second Stop is harmless
	if err := dial(b.Addr()); err == nil {
		t.Fatalf("%s still accepts connections after Stop", b.Addr())
	}
}

func TestStartFailsOnBadConfig(t *testing.T) {
	if _, err := os.Stat(DefaultBin); err != nil {
		t.Fatalf("this test needs a real MQTT broker at %s (apt-get install mosquitto): %v", DefaultBin, err)
	}
	_, err := Start(t.TempDir(), Options{Extra: "no_such_option 1"})
	if err == nil || !strings.Contains(err.Error(), "exited during start-up") {
		t.Fatalf("Start with a bad config: %v, want an exited-during-start-up error", err)
	}
}

func TestStartMissingBinary(t *testing.T) {
	_, err := Start(t.TempDir(), Options{Bin: "/nonexistent/mosquitto"})
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("Start with a missing binary: %v, want ErrMissing", err)
	}
}

// TestStartOnTakenPort: a port already held by another process must not
// pass for the broker's listener, though a dial to it succeeds.
func TestStartOnTakenPort(t *testing.T) {
	if _, err := os.Stat(DefaultBin); err != nil {
		t.Fatalf("this test needs a real MQTT broker at %s (apt-get install mosquitto): %v", DefaultBin, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = Start(t.TempDir(), Options{Port: port})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("Start on a taken port: %v, want mosquitto's address-in-use error", err)
	}
}

// TestStopRightAfterStart: the broker serves once Start returns, so a
// SIGTERM sent at once ends it cleanly; a signal lost on the way into
// its main loop would leave Stop to kill it after stopTimeout.
func TestStopRightAfterStart(t *testing.T) {
	if _, err := os.Stat(DefaultBin); err != nil {
		t.Fatalf("this test needs a real MQTT broker at %s (apt-get install mosquitto): %v", DefaultBin, err)
	}
	for range 10 {
		b, err := Start(t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		b.mu.Lock()
		cmd := b.cmd
		b.mu.Unlock()
		b.Stop(syscall.SIGTERM)
		if !cmd.ProcessState.Success() {
			t.Fatalf("broker ended with %v, not by the SIGTERM", cmd.ProcessState)
		}
	}
}
