package bench

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/testenv"
)

func chipsConfig(t testing.TB, frames int) ChipsConfig {
	t.Helper()
	video := testenv.TestData(t, "video")
	cfg := ChipsConfig{Models: testenv.ModelDir(t), Engine: engines.Default,
		Clip: filepath.Join(video, filepath.Base(DefaultChipsClip)), MaxFrames: frames}
	for _, g := range DefaultChipsGallery {
		cfg.Gallery = append(cfg.Gallery, filepath.Join(video, strings.TrimPrefix(g, "video/")))
	}
	return cfg
}

// The first pictures of the 1080p clip: the same faces in both modes, the
// full picture makes usable faces the detection frame could not, and
// nobody enrolled is named.
func TestChips(t *testing.T) {
	rep, err := Chips(context.Background(), chipsConfig(t, 6))
	if err != nil {
		t.Fatal(err)
	}
	a, b := rep.Modes[0], rep.Modes[1]
	t.Logf("640 chips %+v", a)
	t.Logf("full chips %+v", b)
	if rep.Frames != 6 || rep.DetectionW != 640 || rep.Width != 1920 || a.Faces == 0 || a.Faces != b.Faces {
		t.Fatalf("implausible report: %+v", rep)
	}
	if b.Usable <= a.Usable {
		t.Errorf("full-resolution chips: %d usable faces; 640 chips: %d", b.Usable, a.Usable)
	}
	if a.Named != 0 || b.Named != 0 {
		t.Errorf("tracks named although nobody in the clip is enrolled: %d and %d", a.Named, b.Named)
	}
	for _, m := range rep.Modes {
		if m.ConvertMS <= 0 || m.RecognizeMS <= 0 || m.AllFacesCPUMS <= 0 || m.Tracks == 0 {
			t.Errorf("%s: figures missing: %+v", m.Mode, m)
		}
	}
}

func TestChipsRefusesBadInput(t *testing.T) {
	small := filepath.Join(testenv.TestData(t, "video"), "hamilton_wh_short_640x360.mp4")
	for _, tc := range []struct {
		name string
		edit func(*ChipsConfig)
		want string
	}{
		{"detection size", func(c *ChipsConfig) { c.DetectionSize = 8 }, "detection size"},
		{"sample rate", func(c *ChipsConfig) { c.SampleRate = -1 }, "sample rate"},
		{"frames", func(c *ChipsConfig) { c.MaxFrames = -1 }, "max frames"},
		{"no clip", func(c *ChipsConfig) { c.Clip = filepath.Join(t.TempDir(), "none.mp4") }, "none.mp4"},
		{"clip at the detection size", func(c *ChipsConfig) { c.Clip = small }, "no larger than the detection size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := chipsConfig(t, 1)
			tc.edit(&cfg)
			_, err := Chips(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// BenchmarkChips compares chips cut from the 640x360 detection frame with
// chips cut from the 1080p picture on the pedestrians clip. One op is the
// whole comparison over the clip's 21 sampled pictures; the figures are per
// picture. The full table: edgectl bench-chips.
//
//	go test -run '^$' -bench Chips -benchtime 1x ./internal/bench/
func BenchmarkChips(b *testing.B) {
	cfg := chipsConfig(b, 0)
	var rep ChipsReport
	for b.Loop() {
		var err error
		if rep, err = Chips(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
	}
	for _, m := range []struct {
		name string
		mode ChipsMode
	}{{"640", rep.Modes[0]}, {"full", rep.Modes[1]}} {
		b.ReportMetric(m.mode.ConvertMS, m.name+"-convert-ms/picture")
		b.ReportMetric(m.mode.CPUMS, m.name+"-cpu-ms/picture")
		b.ReportMetric(m.mode.AllFacesCPUMS, m.name+"-all-faces-cpu-ms/picture")
		b.ReportMetric(m.mode.UsablePerTrack, m.name+"-usable/track")
		b.ReportMetric(float64(m.mode.Usable), m.name+"-usable-faces")
		b.ReportMetric(m.mode.Agreement, m.name+"-agreement")
		b.ReportMetric(m.mode.Agreement-m.mode.Between, m.name+"-agreement-minus-between")
		b.ReportMetric(float64(m.mode.Named), m.name+"-named")
	}
}
