package live

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"github.com/dozor-edge/dozor/camera"
)

const (
	// trackID of the single video track.
	trackID = 1
	// maxStep is the largest decode-time step within one run of the
	// timeline; a larger one (a new session of the camera, a clock jump)
	// restarts the run at the next keyframe.
	maxStep = 10 * camera.ClockRate
	// defaultDuration is a sample's duration when nothing better is
	// known (the last one before a restart, and no earlier interval).
	defaultDuration = camera.ClockRate / 25
)

// params are the parameter sets of the latest keyframe.
type params struct {
	sps, pps []byte
	ok       bool // they parse: an init segment can be made
	codec    string
	w, h     int
}

// initSeg is an init segment for one set of parameters; viewers compare
// pointers to know whether they have it.
type initSeg struct {
	data  []byte
	codec string
	w, h  int
}

// muxer is the state of the fMP4 timeline; it exists only while the hub
// has viewers.
type muxer struct {
	running  bool // a keyframe started the current run
	timeline bool // base is set
	dtsx     h264.DTSExtractor
	base     int64 // timeline time = decode time - base
	end      int64 // timeline time where the last written sample ends
	lastPTS  int64
	lastDur  int64
	seq      uint32
	init     *initSeg
	held     *pending // waits for the next decode time: its duration
}

// pending is an access unit repackaged except for its duration.
type pending struct {
	dts, pts int64
	key      bool
	wall     time.Time
	payload  []byte // length-prefixed NAL units
	init     *initSeg
}

// checkUnit validates what the hub is handed before any parser sees it.
func checkUnit(au [][]byte) error {
	if len(au) == 0 || len(au) > camera.MaxNALUsPerAccessUnit {
		return fmt.Errorf("access unit with %d NAL units (want 1..%d)", len(au), camera.MaxNALUsPerAccessUnit)
	}
	size := 0
	for i, n := range au {
		if len(n) == 0 {
			return fmt.Errorf("NAL unit %d is empty", i)
		}
		if n[0]&0x80 != 0 {
			return fmt.Errorf("NAL unit %d: forbidden bit set", i)
		}
		size += len(n)
	}
	if size > camera.MaxAccessUnitSize {
		return fmt.Errorf("access unit of %d bytes (limit %d)", size, camera.MaxAccessUnitSize)
	}
	return nil
}

func naluType(n []byte) h264.NALUType { return h264.NALUType(n[0] & 0x1f) }

// isSlice reports whether n holds (part of) a coded picture.
func isSlice(n []byte) bool {
	t := naluType(n)
	return t >= h264.NALUTypeNonIDR && t <= h264.NALUTypeIDR
}

// noteParams remembers the SPS and PPS of a keyframe when they changed.
func (h *Hub) noteParams(au [][]byte) {
	var sps, pps []byte
	for _, n := range au {
		switch naluType(n) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		}
	}
	if sps == nil || pps == nil || (bytes.Equal(sps, h.params.sps) && bytes.Equal(pps, h.params.pps)) {
		return // a keyframe relying on earlier parameter sets, or the same ones
	}
	p := params{sps: bytes.Clone(sps), pps: bytes.Clone(pps)}
	w, hgt, err := parseSPS(p.sps)
	switch {
	case err != nil:
		h.errs++
		if h.params.ok {
			h.log.Warn("live: SPS does not parse; no video until one does", "error", err)
		}
	case w <= 0 || hgt <= 0 || w > camera.MaxPictureSide || hgt > camera.MaxPictureSide:
		h.errs++
		h.log.Warn("live: SPS declares an unusable picture size", "width", w, "height", hgt)
	default:
		p.ok, p.w, p.h = true, w, hgt
		// RFC 6381: profile_idc, the constraint flags and level_idc.
		p.codec = fmt.Sprintf("avc1.%02x%02x%02x", p.sps[1], p.sps[2], p.sps[3])
		h.log.Debug("live: parameters", "codec", p.codec, "width", w, "height", hgt)
	}
	h.params, h.init = p, nil
}

// parseSPS reads the picture size; a panic of the parser is an error
// (the packet goroutine must survive any input).
func parseSPS(sps []byte) (w, h int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("SPS parser: %v", r)
		}
	}()
	if len(sps) < 4 {
		return 0, 0, errors.New("SPS shorter than 4 bytes")
	}
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return 0, 0, err
	}
	return s.Width(), s.Height(), nil
}

// initSegment returns the init segment of the current parameters, made on
// first use.
func (h *Hub) initSegment() (*initSeg, error) {
	if h.init != nil {
		return h.init, nil
	}
	in := fmp4.Init{Tracks: []*fmp4.InitTrack{{
		ID: trackID, TimeScale: camera.ClockRate,
		Codec: &mp4.CodecH264{SPS: h.params.sps, PPS: h.params.pps},
	}}}
	var buf seekablebuffer.Buffer
	if err := in.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("init segment: %w", err)
	}
	h.init = &initSeg{data: buf.Bytes(), codec: h.params.codec, w: h.params.w, h: h.params.h}
	return h.init, nil
}

// mux repackages one access unit; the previous one is written now that
// its duration is known.
func (h *Hub) mux(u camera.LiveUnit) {
	m := &h.m
	if m.running && u.Random && (u.PTS < m.lastPTS-maxStep || u.PTS > m.lastPTS+maxStep) {
		h.stop() // a new session: continue the timeline at this keyframe
	}
	if !m.running {
		if !u.Random || !h.params.ok {
			return
		}
		init, err := h.initSegment()
		if err != nil {
			h.fail(err)
			return
		}
		m.running, m.init = true, init
		m.dtsx = h264.DTSExtractor{}
		m.dtsx.Initialize()
		if !m.timeline {
			m.timeline, m.base = true, u.PTS
		} else {
			m.base = u.PTS - m.end // the extractor starts at the keyframe's PTS
		}
	}
	if !slices.ContainsFunc(u.NALUs, isSlice) {
		return // no picture (a stray SEI, delimiter or parameter sets): nothing to show
	}
	dts, err := h.extractDTS(u)
	if err == nil && m.held != nil && (dts < m.held.dts || dts > m.held.dts+maxStep) {
		err = fmt.Errorf("decode time steps from %d to %d", m.held.dts, dts)
	}
	if err != nil {
		h.fail(err)
		return
	}
	payload, err := h264.AVCC(u.NALUs).Marshal()
	if err != nil {
		h.fail(err)
		return
	}
	if m.held != nil {
		h.write(m.held, dts-m.held.dts)
	}
	m.held = &pending{dts: dts, pts: u.PTS, key: u.Random, wall: u.Wall, payload: payload, init: m.init}
	m.lastPTS = u.PTS
}

// extractDTS finds the unit's decode time. The extractor keeps the SPS it
// was given, so it is given the hub's own copy.
func (h *Hub) extractDTS(u camera.LiveUnit) (dts int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("DTS extractor: %v", r)
		}
	}()
	au, copied := u.NALUs, false
	for i, n := range u.NALUs {
		if naluType(n) != h264.NALUTypeSPS {
			continue
		}
		if !copied {
			au, copied = slices.Clone(u.NALUs), true
		}
		if bytes.Equal(n, h.params.sps) {
			au[i] = h.params.sps
		} else {
			au[i] = bytes.Clone(n)
		}
	}
	return h.m.dtsx.Extract(au, u.PTS)
}

// write builds the fragment of a pending unit and hands it to the viewers.
func (h *Hub) write(p *pending, dur int64) {
	m := &h.m
	if dur <= 0 {
		dur = 1 // equal decode times (a non-reference unit): keep the order
	}
	m.lastDur = dur
	m.end = p.dts - m.base + dur
	m.seq++
	part := fmp4.Part{SequenceNumber: m.seq, Tracks: []*fmp4.PartTrack{{
		ID: trackID, BaseTime: uint64(p.dts - m.base),
		Samples: []*fmp4.Sample{{
			Duration: uint32(dur), PTSOffset: int32(p.pts - p.dts),
			IsNonSyncSample: !p.key, Payload: p.payload,
		}},
	}}}
	var buf seekablebuffer.Buffer
	buf.Grow(len(p.payload) + 128)
	if err := part.Marshal(&buf); err != nil {
		h.fail(fmt.Errorf("fragment: %w", err))
		return
	}
	h.muxed++
	msg := Message{Key: p.key, Data: buf.Bytes(), Media: ticks(p.pts - m.base), Wall: p.wall,
		Codec: p.init.codec, W: p.init.w, H: p.init.h}
	for s := range h.subs {
		h.deliver(s, msg, p.init)
	}
}

// stop ends the current run: the held unit is written with the last
// known duration, and the next keyframe starts a new run.
func (h *Hub) stop() {
	m := &h.m
	if m.held != nil {
		d := m.lastDur
		if d <= 0 {
			d = defaultDuration
		}
		h.write(m.held, d)
	}
	m.held, m.running = nil, false
}

// fail counts an access unit that could not be repackaged and waits for
// the next keyframe.
func (h *Hub) fail(err error) {
	h.errs++
	h.log.Debug("live: access unit not repackaged; resuming at the next keyframe", "error", err)
	if h.m.running {
		h.stop()
	}
}

func ticks(t int64) time.Duration {
	return time.Duration(t/camera.ClockRate)*time.Second + time.Duration(t%camera.ClockRate)*time.Second/camera.ClockRate
}
