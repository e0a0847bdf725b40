package hwtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/hw"
	"github.com/dozor-edge/dozor/sync/uplink"
)

func TestBoxChecks(t *testing.T) {
	const gb = 1 << 30
	cases := []struct {
		name    string
		check   Check
		verdict Verdict
		text    string // in the value or the fix
	}{
		{"x86 with AVX2", cpuCheck(hw.CPU{Arch: "amd64", Model: "Xeon", Cores: 8, AVX2: true}), Pass, "8 cores, AVX2"},
		{"x86 without AVX2", cpuCheck(hw.CPU{Arch: "amd64", Model: "Atom", Cores: 4}), Warn, "vector instructions"},
		{"arm with NEON", cpuCheck(hw.CPU{Arch: "arm64", Model: "Pi", Cores: 4, NEON: true}), Pass, "NEON"},
		{"container with one core", cpuCheck(hw.CPU{Arch: "arm64", Cores: 8, NEON: true, CgroupCPUs: 0.5}), Warn, "at least 2 cores"},
		{"memory plenty", memCheck(hw.Memory{Total: 8 * gb, Available: 6 * gb}, 4), Pass, "4 workers"},
		{"memory tight", memCheck(hw.Memory{Total: 2 * gb, Available: 1600 << 20}, 4), Warn, "headroom"},
		{"memory short", memCheck(hw.Memory{Total: 2 * gb, Available: 1 * gb}, 4), Fail, "recognizer.workers to 2"},
		{"container memory limit", memCheck(hw.Memory{Total: 64 * gb, Available: 60 * gb, CgroupLimit: 512 << 20}, 2), Fail, "512 MiB"},
		{"disk roomy", diskCheck(hw.Disk{Path: "/var/lib/dozor", Total: 100 * gb, Free: 50 * gb}), Pass, "50.0 GiB free"},
		{"disk small", diskCheck(hw.Disk{Total: 16 * gb, Free: 4 * gb}), Warn, "retention_days"},
		{"disk full", diskCheck(hw.Disk{Total: 16 * gb, Free: 100 << 20}), Fail, "under 1 GiB"},
		{"SSD", writeCheck(hw.WriteSpeed{Bytes: 64 << 20, BytesPerSec: 400e6, FsyncMax: 3 * time.Millisecond}), Pass, "400.0 MB/s"},
		{"slow SD card", writeCheck(hw.WriteSpeed{Bytes: 64 << 20, BytesPerSec: 6e6, FsyncMax: 90 * time.Millisecond}), Warn, "SD card"},
		{"stalling fsync", writeCheck(hw.WriteSpeed{Bytes: 64 << 20, BytesPerSec: 80e6, FsyncMax: 2 * time.Second}), Warn, "stalling"},
		{"dying SD card", writeCheck(hw.WriteSpeed{Bytes: 64 << 20, BytesPerSec: 0.5e6}), Fail, "industrial"},
		{"no sensors", tempCheck(nil), Pass, "no sensor"},
		{"cool", tempCheck([]hw.Temperature{{Sensor: "cpu", Celsius: 45}, {Sensor: "gpu", Celsius: 52}}), Pass, "52.0 °C (gpu)"},
		{"warm", tempCheck([]hw.Temperature{{Sensor: "cpu", Celsius: 78}}), Warn, "cooling"},
		{"near critical", tempCheck([]hw.Temperature{{Sensor: "soc", Celsius: 68, Critical: 75}}), Warn, "cooling"},
		{"hot", tempCheck([]hw.Temperature{{Sensor: "cpu", Celsius: 86}}), Fail, "fan"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.check.Verdict != c.verdict {
				t.Errorf("verdict %s (%s; %s), want %s", c.check.Verdict, c.check.Value, c.check.Fix, c.verdict)
			}
			if !strings.Contains(c.check.Value+" "+c.check.Fix, c.text) {
				t.Errorf("%q / %q lacks %q", c.check.Value, c.check.Fix, c.text)
			}
			if c.check.Verdict != Pass && c.check.Fix == "" {
				t.Error("no fix")
			}
		})
	}
}

// TestBoxOnFixtureTrees runs the box checks on each fixture board: every
// tree gives a CPU check naming its architecture, and the broken trees
// give a WARN that names the file rather than a crash.
func TestBoxOnFixtureTrees(t *testing.T) {
	trees, err := filepath.Glob("../../hw/testdata/*")
	if err != nil || len(trees) == 0 {
		t.Fatalf("no fixture trees: %v", err)
	}
	for _, tree := range trees {
		t.Run(filepath.Base(tree), func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Store.Path = filepath.Join(t.TempDir(), "dozor.db")
			tt := &tester{cfg: cfg, opt: Options{Roots: hw.Roots{Proc: filepath.Join(tree, "proc"), Sys: filepath.Join(tree, "sys")}, WriteBytes: 1 << 20}, workers: 1}
			tt.opt.setDefaults()
			r := &Report{Verdict: Pass}
			tt.box(context.Background(), r)
			names := map[string]Check{}
			for _, c := range r.Checks {
				names[c.Name] = c
			}
			for _, n := range []string{"CPU", "memory", "disk free", "write speed", "clock", "temperature"} {
				if _, ok := names[n]; !ok {
					t.Errorf("no %s check: %+v", n, r.Checks)
				}
			}
			cpu := names["CPU"]
			broken := strings.HasPrefix(filepath.Base(tree), "broken-")
			if !broken && cpu.Verdict == Warn && strings.Contains(cpu.Value, "could not") {
				t.Errorf("CPU unreadable on a good tree: %s", cpu.Value)
			}
			namesFile := false
			for _, c := range r.Checks {
				if c.Verdict != Pass && c.Fix == "" {
					t.Errorf("%s: %s without a fix", c.Name, c.Verdict)
				}
				namesFile = namesFile || c.Verdict == Warn && strings.Contains(c.Value, tree)
			}
			if broken && !namesFile {
				t.Errorf("a broken tree gave no WARN naming the bad file: %+v", r.Checks)
			}
			t.Logf("%s: %s | %s | %s", cpu.Verdict, cpu.Value, names["memory"].Value, names["temperature"].Value)
		})
	}
}

func TestClockUnset(t *testing.T) {
	tt := &tester{opt: Options{Now: func() time.Time { return time.Date(1970, 1, 1, 0, 5, 0, 0, time.UTC) }}}
	c := tt.clockCheck(context.Background(), &Report{})
	if c.Verdict != Fail || !strings.Contains(c.Fix, "unset") {
		t.Errorf("%+v", c)
	}
}

func TestFaceCheck(t *testing.T) {
	cfg := config.Defaults()
	tt := &tester{cfg: cfg}
	cases := []struct {
		name    string
		cam     CameraReport
		verdict Verdict
		fix     string
	}{
		{"large faces", CameraReport{ID: "a", FaceCount: 40, IODP90: 45, Width: 1280, Height: 720, FrameW: 640}, Pass, ""},
		{"none seen", CameraReport{ID: "a", Sampled: 50}, Warn, "while people pass"},
		{"marginal on a big picture", CameraReport{ID: "a", FaceCount: 40, IODP90: 20, Width: 1920, Height: 1080, FrameW: 640}, Warn, "detection_size from 640 to 1024"},
		{"tiny on a small picture", CameraReport{ID: "a", FaceCount: 40, IODP90: 8, Width: 640, Height: 360, FrameW: 640}, Fail, "4.0 times larger"},
		{"tiny beyond what the picture holds", CameraReport{ID: "a", FaceCount: 40, IODP90: 8, Width: 1280, Height: 720, FrameW: 640}, Fail, "not enough alone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := tt.faceCheck(&c.cam)
			if ch.Verdict != c.verdict || !strings.Contains(ch.Fix, c.fix) {
				t.Errorf("%s: %s / fix %q, want %s with %q", ch.Value, ch.Verdict, ch.Fix, c.verdict, c.fix)
			}
		})
	}
}

// With recognizer.chip_max_side, faces are judged in the pixels of the
// camera's picture they are cut from, as the daemon's usability gate
// judges them, and the remedies follow.
func TestFaceCheckWithChips(t *testing.T) {
	cam := func(iod float64) CameraReport {
		return CameraReport{ID: "a", FaceCount: 40, IODP90: iod, IODMax: 2 * iod, Width: 1920, Height: 1080, FrameW: 640, FrameH: 360}
	}
	cases := []struct {
		name    string
		chips   int
		cam     CameraReport
		verdict Verdict
		value   string
		fix     []string
		notFix  string
	}{
		{"small in the frame, large enough in the picture", 1920, cam(12), Pass,
			"p90 36 px, max 72 px in the pictures faces are cut from (recognizer.chip_max_side 1920)", nil, ""},
		{"the same camera without chips", 0, cam(12), Warn, "p90 12 px, max 24 px in the detection frame",
			[]string{"set recognizer.chip_max_side to 1920: faces cut from the camera's own picture measure 36 px", "detection_size from 640"}, ""},
		{"chips bounded below the camera's picture", 1280, cam(8), Warn, "p90 16 px",
			[]string{"2.0 times larger", "(recognizer.chip_max_side 1920) they measure 24 px, which is not enough alone"}, "detection_size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Recognizer.ChipMaxSide = c.chips
			tt := &tester{cfg: cfg}
			c.cam.SizeScale = tt.chipScale(&c.cam) // as cameraChecks sets it
			ch := tt.faceCheck(&c.cam)
			if ch.Verdict != c.verdict || !strings.Contains(ch.Value, c.value) {
				t.Errorf("%s: %s, want %s with %q", ch.Value, ch.Verdict, c.verdict, c.value)
			}
			for _, f := range c.fix {
				if !strings.Contains(ch.Fix, f) {
					t.Errorf("fix %q lacks %q", ch.Fix, f)
				}
			}
			if c.notFix != "" && strings.Contains(ch.Fix, c.notFix) {
				t.Errorf("fix %q mentions %q, which cannot help", ch.Fix, c.notFix)
			}
		})
	}
}

func TestStreamFixes(t *testing.T) {
	for _, r := range []camera.Reason{camera.ReasonUnreachable, camera.ReasonUnauthorized, camera.ReasonForbidden, camera.ReasonNotFound,
		camera.ReasonUnsupportedCodec, camera.ReasonNoPackets, camera.ReasonNoPictures, camera.ReasonTimeout, camera.ReasonDecoder, ""} {
		fix := streamFix(&CameraReport{URL: "rtsp://admin:***@10.0.0.5:554/s1", Reason: string(r)})
		if fix == "" || strings.Contains(fix, "%!") {
			t.Errorf("%q: fix %q", r, fix)
		}
	}
}

func TestUplinkFixes(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("connect: %w of user %q: %w", uplink.ErrBadCredentials, "ik5", errors.New("bad user name or password")), "uplink.username"},
		{fmt.Errorf("connect: %w: user %q (check username, password_file, the client certificate and the broker's ACL)", uplink.ErrNotAuthorised, "ik5"), "uplink.username"},
		{fmt.Errorf("%w (cert_file, key_file): EOF", uplink.ErrClientCertRequired), "requires a client certificate"},
		{fmt.Errorf("connect: %w %q", uplink.ErrClientIDRejected, "dozor-n-ik5"), "client_id"},
		{errors.New("uplink: password_file: open /etc/dozor/mqtt.pass: no such file or directory"), "password file"},
		{errors.New("uplink: ca_file /etc/dozor/ca.pem: no PEM certificate in it"), "not PEM"},
		{errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority"), "uplink.ca_file"},
		{errors.New("dial tcp 10.1.1.1:8883: connect: connection refused"), "nothing listens"},
		{errors.New("dial tcp: lookup region.example: no such host"), "DNS"},
		{errors.New("dial tcp 10.1.1.1:8883: i/o timeout"), "firewall"},
	}
	for _, c := range cases {
		if fix := uplinkFix(c.err, "ssl://region.example:8883"); !strings.Contains(fix, c.want) {
			t.Errorf("%q: fix %q lacks %q", c.err, fix, c.want)
		}
	}
}

func TestWriteHTMLFileNames(t *testing.T) {
	dir := t.TempDir()
	r := &Report{Verdict: Warn, Cameras: []CameraReport{{ID: "../../etc/x", Snapshot: []byte{0xff, 0xd8, 0xff}}}}
	if err := r.WriteHTML(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "camera-.._.._etc_x.jpg"))
	if err != nil {
		t.Fatalf("snapshot not kept inside the folder under a safe name: %v", err)
	}
	// Snapshots show people: only the owner reads them.
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("snapshot mode %v", fi.Mode().Perm())
	}
}
