package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/internal/bench"
	"github.com/dozor-edge/dozor/internal/testenv"
)

var edgectlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "edgectl-test-")
	if err != nil {
		panic(err)
	}
	edgectlBin = filepath.Join(dir, "edgectl")
	if out, err := exec.Command("go", "build", "-o", edgectlBin, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// edgectl runs the built binary with the shared models and a private
// feature cache, returning stdout, stderr and the exit error.
func edgectl(t *testing.T, cache string, args ...string) (string, string, error) {
	t.Helper()
	return edgectlEnv(t, []string{"DOZOR_CACHE=" + cache}, args...)
}

// edgectlEnv runs the built binary with the shared models and env added
// to (or overriding) the environment.
func edgectlEnv(t *testing.T, env []string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(edgectlBin, args...)
	cmd.Env = append(append(os.Environ(), "DOZOR_MODELS="+testenv.ModelDir(t)), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func TestModelsVerify(t *testing.T) {
	out, stderr, err := edgectl(t, t.TempDir(), "models", "verify")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out, stderr)
	}
	if !strings.Contains(out, "verified") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}

func TestFacesCommand(t *testing.T) {
	outDir := t.TempDir()
	img := filepath.Join(testenv.TestData(t, "faces"), "pristin.jpg")
	out, stderr, err := edgectl(t, t.TempDir(), "faces", "--json", "--out", outDir, img)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var res []struct {
		Faces     []json.RawMessage `json:"faces"`
		Annotated string            `json:"annotated"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
		t.Fatalf("bad JSON (%v):\n%s", err, out)
	}
	if len(res[0].Faces) != 10 {
		t.Fatalf("%d faces in the group photo, want 10", len(res[0].Faces))
	}
	f, err := os.Open(res[0].Annotated)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := jpeg.Decode(f); err != nil {
		t.Fatalf("annotated copy is not a JPEG: %v", err)
	}
	// A broken file among good ones: reported, the others still done,
	// non-zero exit.
	bad := filepath.Join(outDir, "broken.jpg")
	os.WriteFile(bad, []byte("\xff\xd8\xff\xe0 not really"), 0o644)
	out, _, err = edgectl(t, t.TempDir(), "faces", "--out", outDir, img, bad)
	if err == nil || !strings.Contains(out, "broken.jpg: ERROR") || !strings.Contains(out, "10 face(s)") {
		t.Fatalf("broken image: err %v\n%s", err, out)
	}
}

func TestEvalOnLFWDev(t *testing.T) {
	cache, plots := t.TempDir(), t.TempDir()
	ds := testenv.TestData(t, "lfw-dev")
	out, stderr, err := edgectl(t, cache, "eval", "verify", "--dataset", ds, "--json", "--plot", filepath.Join(plots, "verify.png"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"accuracy_mean", "accuracy_std", "tar_at_far_1e-3", "no_face"} {
		if _, ok := v[k]; !ok {
			t.Errorf("verify JSON lacks %q", k)
		}
	}
	if acc, _ := v["accuracy_mean"].(float64); acc < 0.95 {
		t.Errorf("lfw-dev pair accuracy %.4f, want at least 0.95", acc)
	}
	// The second protocol reuses the cached features: the cache files are
	// left as the first run wrote them.
	before := cacheFiles(t, cache)
	out, stderr, err = edgectl(t, cache, "eval", "identify", "--dataset", ds, "--json", "--plot", filepath.Join(plots, "identify.png"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var id map[string]any
	if err := json.Unmarshal([]byte(out), &id); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"rank1", "fnir_at_fpir_0.01", "fnir_at_fpir_0.1", "threshold_at_fpir_0.01", "no_face"} {
		if _, ok := id[k]; !ok {
			t.Errorf("identify JSON lacks %q", k)
		}
	}
	if r1, _ := id["rank1"].(float64); r1 < 0.95 {
		t.Errorf("lfw-dev rank-1 %.4f, want at least 0.95", r1)
	}
	if after := cacheFiles(t, cache); !maps.Equal(before, after) {
		t.Errorf("second run rewrote the feature cache instead of using it: %v, then %v", before, after)
	}
	for _, p := range []string{"verify.png", "identify.png"} {
		f, err := os.Open(filepath.Join(plots, p))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(f); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		f.Close()
	}
}

func TestBenchCommand(t *testing.T) {
	img := filepath.Join(testenv.TestData(t, "lfw-dev"), "images", "George_Clooney", "George_Clooney_0001.jpg")
	out, stderr, err := edgectl(t, t.TempDir(), "bench", "--image", img, "-n", "2", "--templates", "1000", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	if len(rep.Stages) < 6 || rep.FacesPerSec[0] <= 0 || rep.FacesPerSec[1] <= 0 || rep.Ratio[0] <= 0 || rep.Ratio[1] <= 0 {
		t.Fatalf("implausible bench report: %+v", rep)
	}
	for _, s := range rep.Stages {
		if s.MS1 <= 0 || s.MSAll <= 0 {
			t.Errorf("stage %q has no timing: %+v", s.Stage, s)
		}
	}
}

func TestBadArguments(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"unknown engine", []string{"eval", "verify", "--dataset", "x", "--engine", "magic"}, "unknown engine"},
		{"missing dataset", []string{"eval", "identify"}, "--dataset is required"},
		{"bad weights", []string{"eval", "verify", "--dataset", "x", "--weights", "1,abc"}, "--weights"},
		{"no images", []string{"faces"}, "no images"},
		{"bad gallery size", []string{"bench", "--templates", "0"}, "--templates"},
		{"no latency duration", []string{"bench-latency", "--duration", "0s"}, "--duration must be positive"},
		{"stray latency argument", []string{"bench-latency", "clip.mp4"}, "unexpected arguments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, err := edgectl(t, t.TempDir(), c.args...)
			if err == nil || !strings.Contains(stderr, c.want) {
				t.Fatalf("err %v, stderr %q, want it to mention %q", err, stderr, c.want)
			}
		})
	}
}

// Without a named photo or clip the bench commands take them from the
// shared test data, and say how to point at it when it is not there.
func TestBenchDefaultsNeedSharedData(t *testing.T) {
	empty := t.TempDir()
	for _, c := range []struct{ cmd, want string }{
		{"bench", "no --image given"},
		{"bench-latency", "no --clip given"},
	} {
		_, stderr, err := edgectlEnv(t, []string{bench.EnvShared + "=" + empty}, c.cmd)
		if err == nil || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, empty) || !strings.Contains(stderr, bench.EnvShared) {
			t.Errorf("%s without shared data: err %v, stderr %q", c.cmd, err, stderr)
		}
	}
}

// The table is what usage prints: sorted, each name once, each with a
// summary.
func TestCommandTable(t *testing.T) {
	for i, c := range commands {
		if c.name == "" || c.summary == "" || c.run == nil {
			t.Errorf("command %d is incomplete: %+v", i, c)
		}
		if i > 0 && commands[i-1].name >= c.name {
			t.Errorf("%q listed after %q: keep the table sorted and each name once", c.name, commands[i-1].name)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-h"}, {"help"}} {
		_, stderr, err := edgectlEnv(t, nil, args...)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("edgectl %q: %v, want exit status 2", args, err)
		}
		want := "usage: edgectl <command> [flags]\n\ncommands:\n"
		for _, c := range commands {
			want += fmt.Sprintf("  %-8s %s\n", c.name, c.summary)
		}
		if stderr != want {
			t.Errorf("edgectl %q printed:\n%s\nwant:\n%s", args, stderr, want)
		}
	}
}

// -h on any sub-command prints its help and succeeds.
func TestSubcommandHelp(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, err := edgectlEnv(t, nil, c.name, "-h")
			if err != nil {
				t.Fatalf("edgectl %s -h: %v\n%s", c.name, err, stderr)
			}
			if strings.TrimSpace(out+stderr) == "" {
				t.Errorf("edgectl %s -h printed no help:\n%s%s", c.name, out, stderr)
			}
		})
	}
}

// cacheFiles lists the files under dir with their size and modification
// time; it fails when there are none.
func cacheFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files[p] = fmt.Sprintf("%d bytes, %s", fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no feature cache in %s", dir)
	}
	return files
}
