package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/camera/simcam/simcamtest"
	"github.com/dozor-edge/dozor/internal/testenv"
)

// TestHWTestExitStatusAndJSON runs the binary against a configuration
// whose only camera and broker are dead: the exit status is 1, stdout is
// the JSON report with both failures, and the progress went to stderr.
func TestHWTestExitStatusAndJSON(t *testing.T) {
	dead := simcamtest.FreeAddr(t) // nothing listens: camera and broker are both dead
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "dozor.yaml")
	cfg := "models:\n  dir: " + testenv.ModelDir(t) + "\nstore:\n  path: " + filepath.Join(dir, "dozor.db") +
		"\nuplink:\n  broker: tcp://" + dead + "\ncameras:\n  - id: gate-1\n    url: rtsp://" + dead + "/stream1\n"
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := edgectl(t, t.TempDir(), "hwtest", "--config", cfgFile, "--json", "--duration", "1s", "--connect-wait", "2s",
		"--write-mib", "1", "--pings", "1", "--proc-root", "../../hw/testdata/x86-vm/proc", "--sys-root", "../../hw/testdata/x86-vm/sys")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1\nstderr: %s", err, stderr)
	}
	var rep struct {
		Verdict string `json:"verdict"`
		Checks  []struct {
			Section, Name, Verdict, Fix string
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
	}
	failed := map[string]bool{}
	for _, c := range rep.Checks {
		if c.Verdict == "FAIL" {
			failed[c.Section+"/"+c.Name] = true
		}
	}
	if rep.Verdict != "FAIL" || !failed["camera gate-1/stream"] || !failed["uplink/broker"] {
		t.Errorf("verdict %s, failed %v", rep.Verdict, failed)
	}
	if !strings.Contains(stderr, "box:") || !strings.Contains(stderr, "checks failed") {
		t.Errorf("stderr lacks the progress or the summary: %s", stderr)
	}
}

func TestHWTestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--write-mib", "-1"}, {"--pings", "0"}, {"--duration", "10ms"}, {"--config", "/nonexistent.yaml"}, {"extra"}, {"--camera", "nope"},
	} {
		_, stderr, err := edgectl(t, t.TempDir(), append([]string{"hwtest"}, args...)...)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 || stderr == "" {
			t.Errorf("%v: exit %v, stderr %q", args, err, stderr)
		}
	}
}
