package main

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
	cmd := exec.Command(edgectlBin, args...)
	cmd.Env = append(os.Environ(), "DOZOR_MODELS="+testenv.ModelDir(t), "DOZOR_CACHE="+cache)
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
	// The second protocol reuses the cached features.
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
	if strings.Contains(stderr, "lfw-dev opencv [") {
		t.Errorf("second run re-extracted features instead of using the cache:\n%s", stderr)
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
	var rep benchReport
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
