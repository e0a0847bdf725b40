package avcodec

/*
#include <stdlib.h>
#include "dz_av.h"
*/
import "C"

import (
	"fmt"
	"math"
	"os"
	"time"
	"unsafe"

	"github.com/dozor-edge/dozor/camera"
)

// ClipOptions say how to turn a video file into a camera.Clip.
type ClipOptions struct {
	// Codec of the clip; empty keeps the file's (H.264 or H.265; another
	// codec is re-encoded to H.264).
	Codec camera.Codec
	// GOP is the longest interval allowed between random access points,
	// as an IP camera's "I-frame interval": a file with longer ones (many
	// web clips have a single IDR) is re-encoded with this interval. Zero
	// keeps the file's. Re-encoding for a codec change uses GOP, or 1 s.
	GOP time.Duration
	// MaxFrames stops reading after this many pictures (0: all).
	MaxFrames int
	// Preset and CRF tune libx264/libx265 when re-encoding (default
	// "veryfast" and 23). Re-encoded clips have no B-frames, like cameras.
	Preset string
	CRF    int
	// MaxSide scales a re-encoded clip down so its longest side is at
	// most this (0: keep the size); a file larger than that is re-encoded.
	MaxSide int
	// MaxBytes bounds the clip held in memory (default 1 GiB).
	MaxBytes int64
}

// ReadClip reads the video track of a file (any container libavformat
// knows; the test clips are MP4) into memory as Annex-B access units with
// 90 kHz timestamps, re-encoding when the options ask for it.
func ReadClip(path string, o ClipOptions) (*camera.Clip, error) {
	initLib()
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("read clip: %w", err)
	}
	if o.Codec != "" && !o.Codec.Valid() {
		return nil, fmt.Errorf("read clip %s: codec %q: %w", path, o.Codec, camera.ErrUnsupportedCodec)
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.Preset == "" {
		o.Preset = "veryfast"
	}
	if o.CRF <= 0 {
		o.CRF = 23
	}
	dm, info, err := openDemux(path)
	if err != nil {
		return nil, err
	}
	src := camera.Codec("")
	switch info.codec {
	case C.DZ_H264:
		src = camera.H264
	case C.DZ_H265:
		src = camera.H265
	}
	target := o.Codec
	if target == "" {
		target = src
		if target == "" {
			target = camera.H264
		}
	}
	fps := 0.0
	if info.fps_num > 0 && info.fps_den > 0 {
		fps = float64(info.fps_num) / float64(info.fps_den)
	}
	meta := clipMeta{codec: target, w: int(info.width), h: int(info.height), fps: fps}
	if o.MaxSide > 0 {
		w, h := camera.OutputSize(meta.w, meta.h, o.MaxSide)
		meta.w, meta.h = max(2, w&^1), max(2, h&^1) // 4:2:0 wants even sizes
	}

	if target == src && meta.w == int(info.width) && meta.h == int(info.height) {
		clip, err := collect(path, meta, o, func(p *C.dz_packet) C.int { return C.dz_demux_next(dm, p) })
		C.dz_demux_close(dm)
		if err != nil {
			return nil, err
		}
		// One frame of slack: a "2 s" camera GOP of 60 pictures at 29.97
		// fps lasts 2.002 s.
		if o.GOP <= 0 || maxGOP(clip) <= o.GOP+time.Duration(float64(time.Second)/max(fps, 1)) {
			return clip, nil
		}
		if dm, _, err = openDemux(path); err != nil {
			return nil, err
		}
	}
	gop := o.GOP
	if gop <= 0 {
		gop = time.Second
	}
	if fps <= 0 || fps > 1000 {
		C.dz_demux_close(dm)
		return nil, fmt.Errorf("read clip %s: frame rate unknown (%d/%d): cannot place key frames", path, info.fps_num, info.fps_den)
	}
	keyint := max(1, int(math.Round(gop.Seconds()*fps)))
	cid, _ := codecID(target)
	preset := C.CString(o.Preset)
	defer C.free(unsafe.Pointer(preset))
	var tx *C.dz_tx
	if rc := C.dz_tx_open(dm, cid, C.int(keyint), C.int(o.CRF), preset, C.int(meta.w), C.int(meta.h), &tx); rc < 0 { // takes dm
		return nil, fmt.Errorf("read clip %s: %w", path, avErr("open "+string(target)+" encoder", rc))
	}
	defer C.dz_tx_close(tx)
	return collect(path, meta, o, func(p *C.dz_packet) C.int { return C.dz_tx_next(tx, p) })
}

type clipMeta struct {
	codec camera.Codec
	w, h  int
	fps   float64
}

func openDemux(path string) (*C.dz_demux, C.dz_stream_info, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var dm *C.dz_demux
	var info C.dz_stream_info
	if rc := C.dz_demux_open(cpath, &dm, &info); rc < 0 {
		return nil, info, fmt.Errorf("read clip %s: %w", path, avErr("open", rc))
	}
	if info.width <= 0 || info.height <= 0 || info.width > camera.MaxPictureSide || info.height > camera.MaxPictureSide {
		C.dz_demux_close(dm)
		return nil, info, fmt.Errorf("read clip %s: video of %dx%d", path, info.width, info.height)
	}
	return dm, info, nil
}

// maxFramesInClip bounds a clip however the options are set.
const maxFramesInClip = 1 << 20

// collect pulls packets from next until the end and builds the clip.
func collect(path string, m clipMeta, o ClipOptions, next func(*C.dz_packet) C.int) (*camera.Clip, error) {
	clip := &camera.Clip{Codec: m.codec, Width: m.w, Height: m.h, FPS: m.fps}
	var bytes int64
	limit := maxFramesInClip
	if o.MaxFrames > 0 {
		limit = min(limit, o.MaxFrames)
	}
	for len(clip.Units) < limit {
		var p C.dz_packet
		rc := next(&p)
		if rc == 1 {
			break
		}
		if rc < 0 {
			return nil, fmt.Errorf("read clip %s: %w", path, avErr("read", rc))
		}
		if p.size <= 0 || p.data == nil {
			continue
		}
		bytes += int64(p.size)
		if bytes > o.MaxBytes {
			return nil, fmt.Errorf("read clip %s: more than %d bytes of video", path, o.MaxBytes)
		}
		data := C.GoBytes(unsafe.Pointer(p.data), p.size)
		u := camera.AccessUnit{PTS: int64(p.pts), DTS: int64(p.dts), NALUs: SplitAnnexB(data)}
		if len(u.NALUs) == 0 {
			continue
		}
		switch {
		case u.PTS == math.MinInt64 && u.DTS == math.MinInt64:
			return nil, fmt.Errorf("read clip %s: packet %d has no timestamp", path, len(clip.Units))
		case u.PTS == math.MinInt64:
			u.PTS = u.DTS
		case u.DTS == math.MinInt64:
			u.DTS = u.PTS
		}
		u.Random = isRandom(m.codec, u.NALUs)
		if len(clip.Units) == 0 && !u.Random {
			continue // a clip starts where a decoder can
		}
		clip.Units = append(clip.Units, u)
	}
	if len(clip.Units) == 0 {
		return nil, fmt.Errorf("read clip %s: no decodable video", path)
	}
	d0 := clip.Units[0].DTS
	for i := range clip.Units {
		clip.Units[i].PTS -= d0
		clip.Units[i].DTS -= d0
	}
	frame := int64(3600) // 25 fps when the file does not say
	if m.fps > 0 {
		frame = int64(math.Round(camera.ClockRate / m.fps))
	}
	last := clip.Units[len(clip.Units)-1].DTS
	clip.Period = time.Duration(last+frame) * time.Second / camera.ClockRate
	if clip.FPS <= 0 {
		clip.FPS = float64(camera.ClockRate) / float64(frame)
	}
	clip.Params = paramSets(m.codec, clip.Units[0].NALUs)
	if len(clip.Params) < 2 {
		return nil, fmt.Errorf("read clip %s: no parameter sets before the first picture", path)
	}
	if err := clip.Validate(); err != nil {
		return nil, fmt.Errorf("read clip %s: %w", path, err)
	}
	return clip, nil
}

// maxGOP is the longest time between random access points, the replay's
// wrap-around included.
func maxGOP(c *camera.Clip) time.Duration {
	var longest, prev int64
	for _, u := range c.Units[1:] {
		if u.Random {
			longest = max(longest, u.DTS-prev)
			prev = u.DTS
		}
	}
	end := int64(c.Period * camera.ClockRate / time.Second)
	longest = max(longest, end-prev)
	return time.Duration(longest) * time.Second / camera.ClockRate
}

// SplitAnnexB cuts a byte stream at its start codes (00 00 01, with or
// without a leading zero) into NAL units, dropping empty ones.
func SplitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				out = appendNALU(out, b[start:i])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		out = appendNALU(out, b[start:])
	}
	return out
}

func appendNALU(out [][]byte, n []byte) [][]byte {
	for len(n) > 0 && n[len(n)-1] == 0 { // leading zero of the next start code, trailing zero bytes
		n = n[:len(n)-1]
	}
	if len(n) == 0 {
		return out
	}
	return append(out, n[:len(n):len(n)])
}

func nalType(c camera.Codec, n []byte) int {
	if c == camera.H265 {
		return int(n[0]>>1) & 0x3f
	}
	return int(n[0] & 0x1f)
}

func isRandom(c camera.Codec, au [][]byte) bool {
	for _, n := range au {
		t := nalType(c, n)
		if (c == camera.H264 && t == 5) || (c == camera.H265 && t >= 19 && t <= 21) {
			return true
		}
	}
	return false
}

// paramSets picks VPS/SPS/PPS (H.265) or SPS/PPS (H.264) from an access unit.
func paramSets(c camera.Codec, au [][]byte) [][]byte {
	want := map[int]bool{7: true, 8: true}
	if c == camera.H265 {
		want = map[int]bool{32: true, 33: true, 34: true}
	}
	var out [][]byte
	for _, n := range au {
		if t := nalType(c, n); want[t] {
			out = append(out, n)
			delete(want, t)
		}
	}
	return out
}
