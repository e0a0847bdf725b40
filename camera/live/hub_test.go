package live_test

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
	"go.uber.org/goleak"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/live"
	"github.com/dozor-edge/dozor/camera/live/livetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var start = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

const (
	clip360  = "hamilton_wh_short_640x360.mp4" // 30 fps, an IDR every 50 pictures, no B-frames
	clip1080 = "pedestrians_arcade_1080p.mp4"  // 25 fps, one IDR, B-frames
)

func units(t testing.TB, name string, base int64) (*camera.Clip, []camera.LiveUnit) {
	t.Helper()
	c := livetest.Clip(t, name)
	return c, livetest.Units(c, base, start)
}

// drain closes s and returns what was queued for it.
func drain(s *live.Sub) []live.Message {
	s.Close()
	var out []live.Message
	for m := range s.C() {
		out = append(out, m)
	}
	return out
}

func ticks(t int64) time.Duration { return time.Duration(t) * time.Second / camera.ClockRate }

// fragment parses one moof+mdat holding one sample of track 1.
func fragment(t *testing.T, data []byte) (*fmp4.PartTrack, *fmp4.Sample) {
	t.Helper()
	var parts fmp4.Parts
	if err := parts.Unmarshal(data); err != nil {
		t.Fatalf("fragment does not parse: %v", err)
	}
	if len(parts) != 1 || len(parts[0].Tracks) != 1 || len(parts[0].Tracks[0].Samples) != 1 || parts[0].Tracks[0].ID != 1 {
		t.Fatalf("fragment: want one part, one track (id 1), one sample: %+v", parts)
	}
	return parts[0].Tracks[0], parts[0].Tracks[0].Samples[0]
}

func checkInit(t *testing.T, m live.Message, c *camera.Clip) {
	t.Helper()
	want := fmt.Sprintf("avc1.%02x%02x%02x", c.Params[0][1], c.Params[0][2], c.Params[0][3])
	if !m.Init || !m.Key || m.Codec != want || m.W != c.Width || m.H != c.Height {
		t.Fatalf("init message: init %v key %v codec %q %dx%d; want codec %q %dx%d", m.Init, m.Key, m.Codec, m.W, m.H, want, c.Width, c.Height)
	}
	var in fmp4.Init
	if err := in.Unmarshal(bytes.NewReader(m.Data)); err != nil {
		t.Fatalf("init segment does not parse: %v", err)
	}
	if len(in.Tracks) != 1 || in.Tracks[0].ID != 1 || in.Tracks[0].TimeScale != camera.ClockRate {
		t.Fatalf("init segment: %d tracks, %+v", len(in.Tracks), in.Tracks[0])
	}
	codec, ok := in.Tracks[0].Codec.(*mp4.CodecH264)
	if !ok || !bytes.Equal(codec.SPS, c.Params[0]) || !bytes.Equal(codec.PPS, c.Params[1]) {
		t.Fatalf("init segment codec %#v, want H.264 with the clip's SPS and PPS", in.Tracks[0].Codec)
	}
}

func TestHubRepackagesClips(t *testing.T) {
	for _, name := range []string{clip360, clip1080} {
		t.Run(name, func(t *testing.T) {
			c, us := units(t, name, 1_000_000)
			h := live.NewHub("cam", nil)
			if h.Mode() != live.ModeSnapshot {
				t.Fatalf("mode before any unit: %s", h.Mode())
			}
			s := h.Subscribe(len(us) + 1)
			for _, u := range us {
				h.WriteAccessUnit(u)
			}
			if h.Mode() != live.ModeMSE || h.Codec() != "h264" {
				t.Fatalf("mode %s, codec %q after H.264 keyframes", h.Mode(), h.Codec())
			}
			st := h.Stats()
			msgs := drain(s)
			// Each fragment is written when the next unit tells its
			// duration: the last one is still held.
			n := len(us) - 1
			if len(msgs) != n+1 || st.Muxed != uint64(n) || st.Fragments != uint64(n) || st.Drops != 0 || st.Errors != 0 || st.Units != uint64(len(us)) || st.Viewers != 1 {
				t.Fatalf("%d messages, stats %+v; want an init and %d fragments", len(msgs), st, n)
			}
			checkInit(t, msgs[0], c)
			var next uint64
			for i, m := range msgs[1:] {
				u := us[i]
				tr, smp := fragment(t, m.Data)
				var au h264.AVCC
				err := au.Unmarshal(smp.Payload)
				media := u.PTS - us[0].PTS
				switch {
				case m.Init || m.Key != u.Random || smp.IsNonSyncSample == u.Random:
					t.Fatalf("fragment %d: init %v key %v non-sync %v; unit random %v", i, m.Init, m.Key, smp.IsNonSyncSample, u.Random)
				case err != nil || !slices.EqualFunc(au, u.NALUs, bytes.Equal):
					t.Fatalf("fragment %d: sample holds other NAL units than the unit (%v)", i, err)
				case tr.BaseTime != next:
					t.Fatalf("fragment %d: base time %d, want %d (where the previous sample ended)", i, tr.BaseTime, next)
				case int64(tr.BaseTime)+int64(smp.PTSOffset) != media || m.Media != ticks(media):
					t.Fatalf("fragment %d: presentation %d+%d (message %v), want %d", i, tr.BaseTime, smp.PTSOffset, m.Media, media)
				case smp.Duration == 0 || !m.Wall.Equal(u.Wall) || m.Codec != msgs[0].Codec:
					t.Fatalf("fragment %d: duration %d, wall %v (want %v), codec %q", i, smp.Duration, m.Wall, u.Wall, m.Codec)
				}
				next = tr.BaseTime + uint64(smp.Duration)
			}
		})
	}
}

func TestHubNeverWaitsForAViewer(t *testing.T) {
	_, us := units(t, clip360, 0)
	h := live.NewHub("cam", nil)
	stuck := h.Subscribe(1) // never read; holds at least an init and a keyframe
	reader := h.Subscribe(len(us))
	var got []live.Message
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for m := range reader.C() {
			got = append(got, m)
		}
	}()
	for _, u := range us { // returns although stuck's queue is full
		h.WriteAccessUnit(u)
	}
	st := h.Stats()
	reader.Close()
	wg.Wait()

	if len(got) != len(us) || reader.Dropped() != 0 {
		t.Fatalf("reading viewer got %d messages (dropped %d), want an init and all %d fragments", len(got), reader.Dropped(), len(us)-1)
	}
	stuckMsgs := drain(stuck)
	if len(stuckMsgs) != 2 || !stuckMsgs[0].Init || !stuckMsgs[1].Key || stuckMsgs[1].Init {
		t.Fatalf("stuck viewer holds %d messages, want its init and the first keyframe", len(stuckMsgs))
	}
	if stuck.Dropped() == 0 || st.Drops != stuck.Dropped() {
		t.Fatalf("stuck viewer dropped %d, hub counted %d", stuck.Dropped(), st.Drops)
	}
}

func TestHubViewerResumesAtKeyframe(t *testing.T) {
	_, us := units(t, clip360, 0)
	h := live.NewHub("cam", nil)
	first := h.Subscribe(len(us))
	defer first.Close()
	const joinAt = 60
	for _, u := range us[:joinAt] {
		h.WriteAccessUnit(u)
	}
	late := h.Subscribe(len(us))
	for _, u := range us[joinAt:] {
		h.WriteAccessUnit(u)
	}
	// Units up to joinAt-2 were written before late joined; joinAt-1 was
	// held. Its first fragment is the first keyframe from there on.
	k := slices.IndexFunc(us[joinAt-1:], func(u camera.LiveUnit) bool { return u.Random }) + joinAt - 1
	if k < joinAt-1 || k == len(us)-1 {
		t.Fatal("clip has no keyframe to join at")
	}
	msgs := drain(late)
	if len(msgs) != len(us)-1-k+1 || !msgs[0].Init || !msgs[1].Key {
		t.Fatalf("late viewer got %d messages, want an init and the %d fragments from unit %d", len(msgs), len(us)-1-k, k)
	}
	if want := ticks(us[k].PTS - us[0].PTS); msgs[1].Media != want {
		t.Fatalf("late viewer starts at %v, want the keyframe at %v", msgs[1].Media, want)
	}
	if tr, _ := fragment(t, msgs[1].Data); int64(tr.BaseTime) != us[k].PTS-us[0].PTS {
		t.Fatalf("late viewer's first base time %d: the timeline is shared, want %d", tr.BaseTime, us[k].PTS-us[0].PTS)
	}
}

// A new session with other parameters (and a detour through H.265): a new
// init segment, and the timeline goes on.
func TestHubNewSessionNewParameters(t *testing.T) {
	c1, a := units(t, clip360, 5_000_000)
	c2, b := units(t, clip1080, 123) // a new session: its timestamps start elsewhere
	h := live.NewHub("cam", nil)
	s := h.Subscribe(len(a) + len(b) + 2)
	for _, u := range a {
		h.WriteAccessUnit(u)
	}
	// The camera was switched to H.265 for a while, then back.
	h.WriteAccessUnit(camera.LiveUnit{Codec: camera.H265, NALUs: [][]byte{{19 << 1, 1, 0xaf}}, PTS: 77, Wall: start, Random: true})
	for _, u := range b {
		h.WriteAccessUnit(u)
	}
	msgs := drain(s)
	checkInit(t, msgs[0], c1)
	i := slices.IndexFunc(msgs[1:], func(m live.Message) bool { return m.Init }) + 1
	if i != len(a)+1 {
		t.Fatalf("second init at message %d, want %d (after every unit of the first session)", i, len(a)+1)
	}
	checkInit(t, msgs[i], c2)
	lastTr, lastSmp := fragment(t, msgs[i-1].Data)
	tr, _ := fragment(t, msgs[i+1].Data)
	if !msgs[i+1].Key || tr.BaseTime != lastTr.BaseTime+uint64(lastSmp.Duration) {
		t.Fatalf("new session starts at base time %d (key %v), want the timeline continued at %d", tr.BaseTime, msgs[i+1].Key, lastTr.BaseTime+uint64(lastSmp.Duration))
	}
	if len(msgs) != len(a)+len(b)+1 {
		t.Fatalf("%d messages, want 2 inits and %d fragments", len(msgs), len(a)+len(b)-1)
	}
}

func TestHubWithoutViewersOnlyWatches(t *testing.T) {
	_, us := units(t, clip360, 0)
	h := live.NewHub("cam", nil)
	for _, u := range us {
		h.WriteAccessUnit(u)
	}
	if st := h.Stats(); st.Muxed != 0 || st.Units != uint64(len(us)) || h.Mode() != live.ModeMSE {
		t.Fatalf("without viewers: stats %+v, mode %s; want nothing muxed, mode mse", st, h.Mode())
	}
}

func TestHubH265IsSnapshotOnly(t *testing.T) {
	h := live.NewHub("cam", nil)
	s := h.Subscribe(8)
	vps := []byte{0x40, 0x1, 0xc, 0x1, 0xff, 0xff, 0x1, 0x60, 0x0, 0x0, 0x3, 0x0, 0x90, 0x0, 0x0, 0x3, 0x0, 0x0, 0x3, 0x0, 0x3f, 0xba, 0x2, 0x40}
	idr := []byte{19 << 1, 1, 0xaf, 0x10}
	for i := range 10 {
		h.WriteAccessUnit(camera.LiveUnit{Codec: camera.H265, NALUs: [][]byte{vps, idr}, PTS: int64(i) * 3600, Wall: start, Random: true})
	}
	if msgs := drain(s); len(msgs) != 0 || h.Mode() != live.ModeSnapshot || h.Codec() != "h265" || h.Stats().Muxed != 0 {
		t.Fatalf("H.265: %d messages, mode %s, codec %q; want none, snapshot, h265", len(msgs), h.Mode(), h.Codec())
	}
}

func TestSubCloseIsIdempotent(t *testing.T) {
	_, us := units(t, clip360, 0)
	h := live.NewHub("cam", nil)
	s := h.Subscribe(0)
	h.WriteAccessUnit(us[0])
	s.Close()
	s.Close()
	if _, open := <-s.C(); open {
		t.Fatal("channel still open after Close")
	}
	for _, u := range us[1:10] { // no send on the closed channel
		h.WriteAccessUnit(u)
	}
	if st := h.Stats(); st.Viewers != 0 || st.Muxed != 0 {
		t.Fatalf("after Close: %+v", st)
	}
}
