package camera

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph265"
	"github.com/pion/rtp"
)

// Defaults of TrackConfig and Config.
const (
	// DefaultSampleRate is how many frames per second a camera hands to
	// the recognizer.
	DefaultSampleRate = 5.0
	// DefaultMaxSide is the detection resolution: handed-off frames have
	// their longest side scaled down to it (never up). It matches the
	// recognizer's default detector input.
	DefaultMaxSide = 640
	// DefaultChipMaxSide bounds the full-resolution picture handed off
	// beside the detection frame: 1080p cameras keep every pixel, larger
	// ones are scaled to it (a 4K picture is four times the memory and
	// conversion for faces that 1080p already renders well).
	DefaultChipMaxSide = 1920
	// maxLag is how far behind the wall clock the mapped capture times of
	// a whole lagWindow may fall before the RTP-to-wall-clock mapping is
	// corrected; maxJump is a lag corrected at once.
	maxLag    = 2 * time.Second
	lagWindow = 10 * time.Second
	maxJump   = 30 * time.Second
	// maxPicturesPerAU bounds what one access unit may make the decoder
	// emit (it drains at most its reordering depth).
	maxPicturesPerAU = 64
)

// TrackConfig describes one video track and what to make of it.
type TrackConfig struct {
	Codec Codec
	// Params are parameter sets from the SDP (sprop-parameter-sets or
	// sprop-vps/sps/pps); they are used until the stream sends its own.
	Params [][]byte
	// PacketizationMode of an H.264 track (0 or 1; 2 is unsupported).
	PacketizationMode int
	// SampleRate is frames per second handed off (DefaultSampleRate when
	// 0; every picture when negative).
	SampleRate float64
	// MaxSide is the longest side of handed-off frames (DefaultMaxSide
	// when 0; the decoded size when negative).
	MaxSide int
	// ChipMaxSide is the longest side of the full-resolution picture
	// handed off beside the detection frame, from which face chips are cut
	// (DefaultChipMaxSide when 0; none when negative). None is handed off
	// when it would be no larger than the detection frame.
	ChipMaxSide int
	// DecodeAll decodes every picture. Without it a disposable picture
	// (one no other picture refers to: most B-frames) that is not due for
	// sampling is left undecoded, which hands off the same frames for
	// less work; DecodeAll is for measuring how much less.
	DecodeAll bool
	// Decoder decodes the track; the Track owns it from here on and closes
	// it in Close.
	Decoder Decoder
	// Live receives every valid access unit before it is decoded (nil:
	// none).
	Live LiveSink
}

// TrackStats are a Track's counters.
type TrackStats struct {
	Packets, Lost, RTPErrors, Skipped uint64
	// Pictures counts the pictures received past the IDR wait: decoded,
	// or Undecoded: disposable pictures (no other refers to them) that
	// were not due for sampling, which need no decoding at all.
	AccessUnits, Pictures, Undecoded uint64
	DecodeErrors, Frames             uint64
	// Width and Height are the coded size of the last decoded picture.
	Width, Height int
}

// Track turns the RTP packets of one H.264 or H.265 track into sampled
// frames: depacketise, validate, wait for an IDR after any gap, decode,
// sample, map the RTP timestamp to the wall clock, scale and convert.
//
// WritePacket is called by one goroutine at a time; Stats, LastPacket and
// LastPicture may be read from any goroutine.
type Track struct {
	cfg    TrackConfig
	depack interface {
		Decode(*rtp.Packet) ([][]byte, error)
	}
	dec      Decoder
	interval int64 // sampling interval in clock units; 0: every picture
	maxSide  int
	chipSide int
	pool     *bufPool
	fullPool *bufPool

	// packet path state, owned by the WritePacket goroutine
	haveSeq   bool
	lastSeq   uint16
	haveTS    bool
	lastTS    uint32
	extTS     int64 // unwrapped timestamp of the last packet
	gap       bool  // a gap happened: skip access units up to gapTS
	gapTS     int64
	waitIDR   bool
	vps       []byte
	sps       []byte
	pps       []byte
	nextShot  int64
	haveShot  bool
	clockBase time.Time
	clockPTS  int64
	haveClock bool
	lagFrom   time.Time     // start of the current lag window
	lagMin    time.Duration // smallest lag seen in it

	packets, lost, rtpErrors, skipped atomic.Uint64
	accessUnits, pictures, decodeErrs atomic.Uint64
	undecoded                         atomic.Uint64
	frames                            atomic.Uint64
	width, height                     atomic.Int64
	lastPacketNanos, lastPictureNanos atomic.Int64

	closeOnce sync.Once
}

// NewTrack validates the configuration and the SDP parameter sets.
func NewTrack(cfg TrackConfig) (*Track, error) {
	if cfg.Decoder == nil {
		return nil, errors.New("track: no decoder")
	}
	t := &Track{cfg: cfg, dec: cfg.Decoder, waitIDR: true, pool: newBufPool(3), fullPool: newBufPool(3)}
	switch cfg.Codec {
	case H264:
		d := &rtph264.Decoder{PacketizationMode: cfg.PacketizationMode}
		if err := d.Init(); err != nil {
			return nil, fmt.Errorf("track: H.264 packetization mode %d: %w", cfg.PacketizationMode, ErrUnsupportedCodec)
		}
		t.depack = d
	case H265:
		d := &rtph265.Decoder{}
		if err := d.Init(); err != nil {
			return nil, fmt.Errorf("track: H.265: %v: %w", err, ErrUnsupportedCodec)
		}
		t.depack = d
	default:
		return nil, fmt.Errorf("track: codec %q: %w", cfg.Codec, ErrUnsupportedCodec)
	}
	switch r := cfg.SampleRate; {
	case r == 0:
		t.interval = int64(ClockRate / DefaultSampleRate)
	case r < 0:
		t.interval = 0
	case math.IsNaN(r) || math.IsInf(r, 0):
		return nil, fmt.Errorf("track: sample rate %v", r)
	default:
		t.interval = int64(math.Round(ClockRate / r))
	}
	t.maxSide = cfg.MaxSide
	if t.maxSide == 0 {
		t.maxSide = DefaultMaxSide
	}
	t.chipSide = cfg.ChipMaxSide
	if t.chipSide == 0 {
		t.chipSide = DefaultChipMaxSide
	}
	for _, p := range cfg.Params {
		// An SDP parameter set that is malformed is ignored: the stream
		// may carry good ones in-band.
		if k, err := classifyNALU(cfg.Codec, p); err == nil {
			t.keepParam(k, p)
		}
	}
	return t, nil
}

// Close closes the decoder.
func (t *Track) Close() error {
	var err error
	t.closeOnce.Do(func() { err = t.dec.Close() })
	return err
}

// Stats returns the counters.
func (t *Track) Stats() TrackStats {
	return TrackStats{
		Packets: t.packets.Load(), Lost: t.lost.Load(), RTPErrors: t.rtpErrors.Load(),
		Skipped: t.skipped.Load(), AccessUnits: t.accessUnits.Load(), Pictures: t.pictures.Load(), Undecoded: t.undecoded.Load(),
		DecodeErrors: t.decodeErrs.Load(), Frames: t.frames.Load(),
		Width: int(t.width.Load()), Height: int(t.height.Load()),
	}
}

// LastPacket is the arrival time of the last packet (zero before one).
func (t *Track) LastPacket() time.Time { return fromNanos(t.lastPacketNanos.Load()) }

// LastPicture is the arrival time of the access unit that produced the
// last decoded picture (zero before one).
func (t *Track) LastPicture() time.Time { return fromNanos(t.lastPictureNanos.Load()) }

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// WritePacket takes one RTP packet that arrived at now. It returns a frame
// when the packet completed an access unit whose picture is due for
// sampling, and the error (if any) this packet caused; errors are also
// counted and never stop the track.
func (t *Track) WritePacket(pkt *rtp.Packet, now time.Time) (*Frame, error) {
	if pkt == nil {
		return nil, errors.New("nil RTP packet")
	}
	t.packets.Add(1)
	t.lastPacketNanos.Store(now.UnixNano())

	if t.haveSeq {
		switch d := int16(pkt.SequenceNumber - t.lastSeq - 1); {
		case d < 0:
			// Duplicate or late: the access unit it belonged to is gone.
			t.rtpErrors.Add(1)
			return nil, fmt.Errorf("RTP packet %d arrived after %d: dropped", pkt.SequenceNumber, t.lastSeq)
		case d > 0:
			t.lost.Add(uint64(d))
			t.markGap(t.unwrap(pkt.Timestamp))
		}
	}
	t.haveSeq, t.lastSeq = true, pkt.SequenceNumber

	ts := t.unwrap(pkt.Timestamp)
	prevTS := t.extTS
	firstTS := !t.haveTS
	t.haveTS, t.lastTS, t.extTS = true, pkt.Timestamp, ts

	if len(pkt.Payload) == 0 {
		t.rtpErrors.Add(1)
		t.markGap(ts)
		return nil, errors.New("RTP packet with empty payload")
	}

	au, err := t.depack.Decode(pkt)
	if err != nil {
		switch {
		case errors.Is(err, rtph264.ErrMorePacketsNeeded), errors.Is(err, rtph265.ErrMorePacketsNeeded):
			return nil, nil
		case errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious), errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious):
			t.markGap(ts) // joined mid-picture: normal at the start
			return nil, nil
		}
		t.rtpErrors.Add(1)
		t.markGap(ts)
		return nil, fmt.Errorf("depacketise: %w", err)
	}
	// The depacketiser returns an access unit either on the marker bit
	// (the packet's own timestamp) or when the timestamp changed (the
	// previous one's).
	auTS := ts
	if !firstTS && ts != prevTS && !pkt.Marker {
		auTS = prevTS
	}
	return t.accessUnit(au, auTS, now)
}

func (t *Track) unwrap(ts uint32) int64 {
	if !t.haveTS {
		return int64(ts)
	}
	return t.extTS + int64(int32(ts-t.lastTS))
}

func (t *Track) markGap(ts int64) {
	t.gap, t.gapTS, t.waitIDR = true, ts, true
}

func (t *Track) keepParam(k nalKind, n []byte) {
	c := append([]byte(nil), n...)
	switch k {
	case nalVPS:
		t.vps = c
	case nalSPS:
		t.sps = c
	case nalPPS:
		t.pps = c
	}
}

func (t *Track) accessUnit(au [][]byte, ts int64, now time.Time) (*Frame, error) {
	t.accessUnits.Add(1)
	if t.gap && ts <= t.gapTS {
		// This picture may have lost packets at its start or end.
		t.skipped.Add(1)
		return nil, nil
	}
	t.gap = false

	if len(au) == 0 || len(au) > MaxNALUsPerAccessUnit {
		t.rtpErrors.Add(1)
		t.waitIDR = true
		return nil, fmt.Errorf("access unit with %d NAL units (limit %d)", len(au), MaxNALUsPerAccessUnit)
	}
	size, random := 0, false
	var has [nalRandom + 1]bool
	for _, n := range au {
		size += len(n)
		k, err := classifyNALU(t.cfg.Codec, n)
		if err == nil && k == nalSPS {
			_, _, err = checkSPS(t.cfg.Codec, n)
		}
		if err != nil {
			t.rtpErrors.Add(1)
			t.waitIDR = true
			return nil, fmt.Errorf("access unit: %w", err)
		}
		has[k] = true
		random = random || k == nalRandom
	}
	if size > MaxAccessUnitSize {
		t.rtpErrors.Add(1)
		t.waitIDR = true
		return nil, fmt.Errorf("access unit of %d bytes (limit %d)", size, MaxAccessUnitSize)
	}
	for _, n := range au {
		if k, _ := classifyNALU(t.cfg.Codec, n); k == nalVPS || k == nalSPS || k == nalPPS {
			t.keepParam(k, n)
		}
	}
	if t.waitIDR && !random {
		t.skipped.Add(1)
		return nil, nil
	}
	if random {
		var err error
		if au, err = t.withParams(au, has); err != nil {
			t.skipped.Add(1)
			return nil, err
		}
		t.waitIDR = false
	}
	if t.cfg.Live != nil {
		t.cfg.Live.WriteAccessUnit(LiveUnit{Codec: t.cfg.Codec, NALUs: au, PTS: ts, Wall: t.wallOf(ts, now), Random: random})
	}

	if !t.cfg.DecodeAll && !random && t.notDue(ts) && disposable(t.cfg.Codec, au, t.sps) {
		// Most of the pictures of a stream with B-frames: decoding them
		// would cost a camera's decoder a third or more of its time for
		// pictures nobody looks at.
		t.pictures.Add(1)
		t.undecoded.Add(1)
		return nil, nil
	}
	n, pic, err := t.dec.Decode(au, ts)
	if err != nil {
		t.decodeErrs.Add(1)
		t.waitIDR = true
		return nil, fmt.Errorf("decode: %w", err)
	}
	if n <= 0 {
		return nil, nil
	}
	t.pictures.Add(uint64(min(n, maxPicturesPerAU)))
	if pic.Corrupt {
		t.decodeErrs.Add(1)
		t.waitIDR = true
		return nil, fmt.Errorf("decode: picture concealed errors: %w", ErrInvalidData)
	}
	if pic.W <= 0 || pic.H <= 0 || pic.W > MaxPictureSide || pic.H > MaxPictureSide {
		t.decodeErrs.Add(1)
		t.waitIDR = true
		return nil, fmt.Errorf("decode: picture of %dx%d: %w", pic.W, pic.H, ErrInvalidData)
	}
	t.lastPictureNanos.Store(now.UnixNano())
	t.width.Store(int64(pic.W))
	t.height.Store(int64(pic.H))
	if !t.due(pic.PTS) {
		return nil, nil
	}
	w, h := OutputSize(pic.W, pic.H, t.maxSide)
	buf := t.pool.get(w * h * 3)
	if err := t.dec.Convert(buf, w, h); err != nil {
		t.pool.put(buf)
		t.decodeErrs.Add(1)
		return nil, fmt.Errorf("convert %dx%d to %dx%d: %w", pic.W, pic.H, w, h, err)
	}
	f := &Frame{W: w, H: h, Pix: buf, pool: t.pool}
	if fw, fh := t.fullSize(pic.W, pic.H); fw > w {
		// At the decoded size libswscale only converts, which costs a
		// quarter of the scaled conversion above (BenchmarkConvert1080p).
		full := t.fullPool.get(fw * fh * 3)
		if err := t.dec.Convert(full, fw, fh); err != nil {
			t.fullPool.put(full)
			f.Release()
			t.decodeErrs.Add(1)
			return nil, fmt.Errorf("convert %dx%d to %dx%d: %w", pic.W, pic.H, fw, fh, err)
		}
		f.FullW, f.FullH, f.FullPix, f.fullPool = fw, fh, full, t.fullPool
	}
	t.frames.Add(1)
	f.Captured = t.captured(pic.PTS, now)
	return f, nil
}

// fullSize is the size of the full-resolution picture for a w x h
// decoded picture (0 x 0: none).
func (t *Track) fullSize(w, h int) (int, int) {
	if t.chipSide < 0 {
		return 0, 0
	}
	return OutputSize(w, h, t.chipSide)
}

// withParams puts the parameter sets a random access unit lacks in front
// of it, from the SDP or from earlier in the stream.
func (t *Track) withParams(au [][]byte, has [nalRandom + 1]bool) ([][]byte, error) {
	need := [][]byte{}
	if t.cfg.Codec == H265 && !has[nalVPS] {
		need = append(need, t.vps)
	}
	if !has[nalSPS] {
		need = append(need, t.sps)
	}
	if !has[nalPPS] {
		need = append(need, t.pps)
	}
	if len(need) == 0 {
		return au, nil
	}
	for _, p := range need {
		if p == nil {
			return nil, fmt.Errorf("random access point without parameter sets, none known from the SDP or the stream")
		}
	}
	return append(need, au...), nil
}

// due decides whether the picture with this PTS is handed off: one per
// sampling interval on the stream's own clock.
func (t *Track) due(pts int64) bool {
	if t.interval <= 0 {
		return true
	}
	switch {
	case !t.haveShot, pts < t.nextShot-2*t.interval, pts-t.nextShot > t.interval:
		// first picture, or the timestamps jumped: restart the grid here
		t.haveShot, t.nextShot = true, pts+t.interval
		return true
	case pts >= t.nextShot-t.slack():
		t.nextShot += t.interval
		return true
	}
	return false
}

// slack is how early a picture may come and still count as due: the
// timestamps of real cameras jitter a little.
func (t *Track) slack() int64 { return t.interval / 50 }

// notDue says, without moving the sampling grid, that due will refuse the
// picture with this PTS. Pictures leave the decoder in PTS order, so the
// ones due sees before this one (earlier PTS, not due either) leave the
// grid where it is now.
func (t *Track) notDue(pts int64) bool {
	return t.interval > 0 && t.haveShot && pts >= t.nextShot-2*t.interval && pts < t.nextShot-t.slack()
}

// captured maps a PTS to the wall clock: anchored at the arrival of the
// first picture and advanced by the RTP clock. The mapping is corrected
// when it runs ahead of the wall clock (at once: a capture cannot be in the
// future), when it jumps far behind (at once: the camera restarted its
// encoder), and when every picture of a lagWindow arrived more than maxLag
// after its mapped time (the camera's clock runs slow). A backlog of our
// own (a starved CPU) delays some pictures but not all, and leaves the
// capture times alone.
func (t *Track) captured(pts int64, now time.Time) time.Time {
	if !t.haveClock {
		t.haveClock, t.clockBase, t.clockPTS = true, now, pts
		t.lagFrom, t.lagMin = now, time.Duration(math.MaxInt64)
		return now
	}
	d := pts - t.clockPTS
	c := t.clockBase.Add(time.Duration(d/ClockRate)*time.Second + time.Duration(d%ClockRate)*time.Second/ClockRate)
	lag := now.Sub(c)
	switch {
	case lag < 0 || lag > maxJump:
		t.clockBase, t.clockPTS = now, pts
		t.lagFrom, t.lagMin = now, time.Duration(math.MaxInt64)
		return now
	case now.Sub(t.lagFrom) >= lagWindow:
		if m := min(t.lagMin, lag); m > maxLag {
			t.clockBase = t.clockBase.Add(m)
			c = c.Add(m)
		}
		t.lagFrom, t.lagMin = now, time.Duration(math.MaxInt64)
	default:
		t.lagMin = min(t.lagMin, lag)
	}
	return c
}

// wallOf maps a PTS to the wall clock as captured does, without moving
// the mapping: the live view sees an access unit before it is decoded,
// and only decoded pictures correct the clock.
func (t *Track) wallOf(pts int64, now time.Time) time.Time {
	if !t.haveClock {
		return now
	}
	d := pts - t.clockPTS
	c := t.clockBase.Add(time.Duration(d/ClockRate)*time.Second + time.Duration(d%ClockRate)*time.Second/ClockRate)
	if lag := now.Sub(c); lag < 0 || lag > maxJump {
		return now // captured would re-anchor here
	}
	return c
}

// OutputSize is the size of a handed-off frame for a w x h picture: the
// longest side scaled down to maxSide, aspect ratio kept; unchanged when
// it already fits or maxSide <= 0.
func OutputSize(w, h, maxSide int) (int, int) {
	if maxSide <= 0 || (w <= maxSide && h <= maxSide) {
		return w, h
	}
	if w >= h {
		return maxSide, max(1, (h*maxSide+w/2)/w)
	}
	return max(1, (w*maxSide+h/2)/h), maxSide
}
