// Package livetest is test support, for tests only: it reads the H.264
// track of an MP4 test clip into a camera.Clip in pure Go (the tests of
// camera and camera/live build with CGO_ENABLED=0, so they cannot use
// camera/avcodec.ReadClip).
package livetest

import (
	"bytes"
	"os"
	"testing"
	"time"

	mp4 "github.com/abema/go-mp4"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/internal/testenv"
)

// Clip reads the H.264 track of testdata/video/<name>: its access units
// in decoding order with 90 kHz timestamps, and the parameter sets of its
// sample description. The test fails when the file is missing or holds no
// H.264 track with 4-byte NAL unit lengths.
func Clip(t testing.TB, name string) *camera.Clip {
	t.Helper()
	b, err := os.ReadFile(testenv.TestData(t, "video/"+name))
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(b)
	info, err := mp4.Probe(r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var tr *mp4.Track
	for _, x := range info.Tracks {
		if x.Codec == mp4.CodecAVC1 && x.AVC != nil && x.AVC.LengthSize == 4 {
			tr = x
			break
		}
	}
	if tr == nil {
		t.Fatalf("%s: no H.264 track with 4-byte lengths", name)
	}
	cfgs, err := mp4.ExtractBoxWithPayload(r, nil, mp4.BoxPath{mp4.BoxTypeMoov(), mp4.BoxTypeTrak(), mp4.BoxTypeMdia(),
		mp4.BoxTypeMinf(), mp4.BoxTypeStbl(), mp4.BoxTypeStsd(), mp4.BoxTypeAvc1(), mp4.BoxTypeAvcC()})
	if err != nil || len(cfgs) != 1 {
		t.Fatalf("%s: avcC: %d boxes, %v", name, len(cfgs), err)
	}
	avcc := cfgs[0].Payload.(*mp4.AVCDecoderConfiguration)
	if len(avcc.SequenceParameterSets) != 1 || len(avcc.PictureParameterSets) != 1 {
		t.Fatalf("%s: avcC holds %d SPS and %d PPS, want one each", name, len(avcc.SequenceParameterSets), len(avcc.PictureParameterSets))
	}
	clip := &camera.Clip{Codec: camera.H264, Width: int(tr.AVC.Width), Height: int(tr.AVC.Height),
		Params: [][]byte{avcc.SequenceParameterSets[0].NALUnit, avcc.PictureParameterSets[0].NALUnit}}

	to90k := func(v int64) int64 { return v * camera.ClockRate / int64(tr.Timescale) }
	var dts int64
	i := 0
	for _, ch := range tr.Chunks {
		off := ch.DataOffset
		for range ch.SamplesPerChunk {
			if i >= len(tr.Samples) {
				t.Fatalf("%s: chunks list more samples than the track has", name)
			}
			s := tr.Samples[i]
			if off+uint64(s.Size) > uint64(len(b)) {
				t.Fatalf("%s: sample %d lies beyond the end of the file", name, i)
			}
			var au h264.AVCC
			if err := au.Unmarshal(b[off : off+uint64(s.Size)]); err != nil {
				t.Fatalf("%s: sample %d: %v", name, i, err)
			}
			clip.Units = append(clip.Units, camera.AccessUnit{
				DTS: to90k(dts), PTS: to90k(dts + s.CompositionTimeOffset),
				NALUs: au, Random: h264.IsRandomAccess(au),
			})
			dts += int64(s.TimeDelta)
			off += uint64(s.Size)
			i++
		}
	}
	clip.Period = time.Duration(to90k(dts)) * time.Second / camera.ClockRate
	clip.FPS = float64(len(clip.Units)) / clip.Period.Seconds()
	if err := clip.Validate(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return clip
}

// Units are the clip's access units as camera.Track hands them to a
// camera.LiveSink: the SDP parameter sets in front of random access units
// that lack them, timestamps from base, arrival in real time from start.
func Units(c *camera.Clip, base int64, start time.Time) []camera.LiveUnit {
	out := make([]camera.LiveUnit, 0, len(c.Units))
	for _, u := range c.Units {
		au := u.NALUs
		if u.Random && au[0][0]&0x1f != 7 {
			au = append(append([][]byte(nil), c.Params...), au...)
		}
		out = append(out, camera.LiveUnit{Codec: c.Codec, NALUs: au, PTS: base + u.PTS,
			Wall: start.Add(time.Duration(u.PTS) * time.Second / camera.ClockRate), Random: u.Random})
	}
	return out
}
