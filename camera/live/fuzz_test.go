package live_test

import (
	"bytes"
	"testing"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/live"
)

// oddUnits are access units a camera should not send but a hub must
// survive: each is split into NAL units at 00 00 01.
var oddUnits = []struct {
	name   string
	data   []byte
	random bool
}{
	{"empty", nil, true},
	{"empty NAL unit", []byte{0, 0, 1}, false},
	{"forbidden bit", []byte{0xe5, 0x88}, true},
	{"IDR header only", []byte{0x65}, true},
	{"slice header only", []byte{0x41}, false},
	{"truncated SPS", []byte{0x67, 0x64}, true},
	{"SPS of garbage", []byte{0x67, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65, 0x88}, true},
	{"SPS with huge size", []byte{0x67, 0x42, 0xc0, 0x1e, 0xff, 0xff, 0xff, 0xff, 0xf0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 1, 0x65, 0x88, 0x84}, true},
	{"SEI only", []byte{0x06, 0x05, 0x01, 0x00, 0x80}, false},
	{"non-reference nothing", []byte{0x09, 0xf0}, false},
}

func FuzzHubWriteAccessUnit(f *testing.F) {
	for _, u := range oddUnits {
		f.Add(u.data, u.random)
	}
	_, us := units(f, clip360, 0)
	f.Fuzz(func(t *testing.T, data []byte, random bool) {
		h := live.NewHub("cam", nil)
		s := h.Subscribe(len(us) + 8)
		h.WriteAccessUnit(us[0])
		h.WriteAccessUnit(us[1])
		h.WriteAccessUnit(camera.LiveUnit{Codec: camera.H264, NALUs: bytes.Split(data, []byte{0, 0, 1}), PTS: us[2].PTS, Wall: start, Random: random})
		for _, u := range us[2:60] {
			h.WriteAccessUnit(u)
		}
		for m := range drain(s) {
			_ = m
		}
		if st := h.Stats(); st.Units != 61 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestOddUnits(t *testing.T) {
	_, us := units(t, clip360, 0)
	for _, tc := range oddUnits {
		t.Run(tc.name, func(t *testing.T) {
			h := live.NewHub("cam", nil)
			s := h.Subscribe(len(us) + 8)
			for _, u := range us[:3] {
				h.WriteAccessUnit(u)
			}
			h.WriteAccessUnit(camera.LiveUnit{Codec: camera.H264, NALUs: bytes.Split(tc.data, []byte{0, 0, 1}), PTS: us[3].PTS, Wall: start, Random: tc.random})
			for _, u := range us[3:] {
				h.WriteAccessUnit(u)
			}
			// The hub goes on, at the next keyframe at the latest, with the
			// clip's own parameter sets.
			msgs := drain(s)
			if last := msgs[len(msgs)-1]; last.Init || !last.Wall.Equal(us[len(us)-2].Wall) || h.Stats().Drops != 0 {
				t.Fatalf("last fragment is from %v, want the last but one unit's %v; stats %+v", last.Wall, us[len(us)-2].Wall, h.Stats())
			}
			if h.Mode() != live.ModeMSE {
				t.Fatalf("mode %s after the clip's keyframes", h.Mode())
			}
		})
	}
}
