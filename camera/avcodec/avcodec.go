// Package avcodec is the cgo island of camera ingest: it decodes H.264 and
// H.265 with libavcodec and scales and converts pictures to BGR with
// libswscale in one pass (camera.Decoder), and reads clips with
// libavformat, transcoding them with libx264/libx265 when asked
// (ReadClip, for the simulated camera and the benchmarks).
//
// Every C object has exactly one Go owner with a Close method; a finalizer
// is not relied upon. Errors crossing from C are *Error values carrying the
// AVERROR code; they wrap camera.ErrInvalidData or
// camera.ErrUnsupportedCodec where those apply.
package avcodec

/*
#cgo pkg-config: libavcodec libavformat libavutil libswscale
#include <stdlib.h>
#include "dz_av.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dozor-edge/dozor/camera"
)

var initOnce sync.Once

func initLib() { initOnce.Do(func() { C.dz_init() }) }

// Error is a failure reported by FFmpeg.
type Error struct {
	Op   string // what was being done: "open decoder", "decode", "convert", "demux"...
	Code int    // the negative AVERROR code
	Msg  string // FFmpeg's text for it
}

func (e *Error) Error() string { return fmt.Sprintf("avcodec: %s: %s (%d)", e.Op, e.Msg, e.Code) }

// Unwrap maps FFmpeg's codes onto the camera package's error kinds.
func (e *Error) Unwrap() error {
	switch C.int(e.Code) {
	case C.dz_err_invaliddata:
		return camera.ErrInvalidData
	case C.dz_err_decoder_not_found, C.dz_err_encoder_not_found, C.dz_err_patchwelcome:
		return camera.ErrUnsupportedCodec
	}
	return nil
}

func avErr(op string, code C.int) error {
	if code >= 0 {
		return nil
	}
	var buf [128]C.char
	C.dz_strerror(code, &buf[0], C.int(len(buf)))
	return &Error{Op: op, Code: int(code), Msg: C.GoString(&buf[0])}
}

func codecID(c camera.Codec) (C.int, error) {
	switch c {
	case camera.H264:
		return C.DZ_H264, nil
	case camera.H265:
		return C.DZ_H265, nil
	}
	return 0, fmt.Errorf("avcodec: codec %q: %w", c, camera.ErrUnsupportedCodec)
}

// Threading says how a decoder with more than one thread shares out the
// work.
type Threading int

const (
	// ThreadAny lets libavcodec choose frame or slice threads.
	ThreadAny Threading = iota
	// ThreadFrame decodes successive pictures in parallel: each thread
	// beyond the first holds back one more picture before it comes out.
	ThreadFrame
	// ThreadSlice decodes the slices of one picture in parallel: no
	// picture is held back, but a picture coded as one slice (most
	// cameras send that) gains nothing.
	ThreadSlice
)

// Options tune a decoder.
type Options struct {
	// Threads is libavcodec's thread count. 1 (the default) suits one
	// decoder per camera on a box with many cameras: no picture held
	// back, the cost stays on the camera's own goroutine, and more threads
	// cost more CPU per picture, never less (BenchmarkDecodeThreads: frame
	// threads take 4 to 16% more on the 1080p clip, slice threads gain
	// nothing on pictures coded as one slice).
	Threads int
	// Threading applies when Threads is above 1.
	Threading Threading
	// Fast sets libavcodec's AV_CODEC_FLAG2_FAST (speed-ups outside the
	// standard's exact decoding process). The pictures stay identical on
	// the test clips (TestDecodeVariantsSamePictures) but no saving shows
	// above the benchmark's noise, so it is off by default.
	Fast bool
}

// live counts open decoders, for leak tests.
var live atomic.Int64

// Live is the number of decoders opened and not yet closed.
func Live() int64 { return live.Load() }

// Decoder is a libavcodec decoder with a libswscale converter; it
// implements camera.Decoder. Not safe for concurrent use.
type Decoder struct {
	d     *C.dz_dec
	codec camera.Codec
	buf   []byte // Annex-B access unit, reused
}

var _ camera.Decoder = (*Decoder)(nil)

// padding after the access unit: FFmpeg's bitstream readers may read
// AV_INPUT_BUFFER_PADDING_SIZE (64) bytes past the end.
const padding = 64

var zeroPad [padding]byte

// NewDecoder opens a decoder for codec.
func NewDecoder(codec camera.Codec, opt Options) (*Decoder, error) {
	initLib()
	id, err := codecID(codec)
	if err != nil {
		return nil, err
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = 1
	}
	var d *C.dz_dec
	if opt.Threading < ThreadAny || opt.Threading > ThreadSlice {
		return nil, fmt.Errorf("avcodec: threading %d: want ThreadAny, ThreadFrame or ThreadSlice", opt.Threading)
	}
	fast := 0
	if opt.Fast {
		fast = 1
	}
	if rc := C.dz_dec_open(id, C.int(threads), C.int(opt.Threading), C.int(fast), &d); rc < 0 {
		return nil, avErr("open "+string(codec)+" decoder", rc)
	}
	live.Add(1)
	return &Decoder{d: d, codec: codec}, nil
}

// Factory returns a camera.DecoderFactory opening decoders with opt.
func Factory(opt Options) camera.DecoderFactory {
	return func(c camera.Codec) (camera.Decoder, error) {
		d, err := NewDecoder(c, opt)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
}

// Decode implements camera.Decoder. NAL units are validated for size
// here; their content is libavcodec's to judge.
func (d *Decoder) Decode(au [][]byte, pts int64) (int, camera.Picture, error) {
	if d.d == nil {
		return 0, camera.Picture{}, camera.ErrDecoderClosed
	}
	size := 0
	for _, n := range au {
		if len(n) == 0 {
			return 0, camera.Picture{}, fmt.Errorf("avcodec: decode: empty NAL unit: %w", camera.ErrInvalidData)
		}
		size += 4 + len(n)
	}
	if size == 0 {
		return 0, camera.Picture{}, fmt.Errorf("avcodec: decode: empty access unit: %w", camera.ErrInvalidData)
	}
	if size > camera.MaxAccessUnitSize+4*camera.MaxNALUsPerAccessUnit {
		return 0, camera.Picture{}, fmt.Errorf("avcodec: decode: access unit of %d bytes: %w", size, camera.ErrInvalidData)
	}
	if cap(d.buf) < size+padding {
		d.buf = make([]byte, 0, size+padding+size/4)
	}
	b := d.buf[:0]
	for _, n := range au {
		b = append(b, 0, 0, 0, 1)
		b = append(b, n...)
	}
	b = append(b, zeroPad[:]...)
	var pic C.dz_pic
	rc := C.dz_dec_decode(d.d, (*C.uint8_t)(unsafe.Pointer(&b[0])), C.int(size), C.int64_t(pts), &pic)
	p := camera.Picture{W: int(pic.w), H: int(pic.h), PTS: int64(pic.pts), Corrupt: pic.corrupt != 0}
	if rc < 0 {
		return int(pic.count), p, avErr("decode "+string(d.codec), rc)
	}
	return int(pic.count), p, nil
}

// Drain returns the pictures the decoder still holds for reordering (at
// the end of a clip) and resets it for a new stream. The newest is kept
// for Convert.
func (d *Decoder) Drain() (int, camera.Picture, error) {
	if d.d == nil {
		return 0, camera.Picture{}, camera.ErrDecoderClosed
	}
	var pic C.dz_pic
	rc := C.dz_dec_decode(d.d, nil, 0, 0, &pic)
	p := camera.Picture{W: int(pic.w), H: int(pic.h), PTS: int64(pic.pts), Corrupt: pic.corrupt != 0}
	return int(pic.count), p, avErr("drain "+string(d.codec), rc)
}

// Convert implements camera.Decoder.
func (d *Decoder) Convert(dst []byte, w, h int) error {
	if d.d == nil {
		return camera.ErrDecoderClosed
	}
	if w <= 0 || h <= 0 || w > camera.MaxPictureSide || h > camera.MaxPictureSide {
		return fmt.Errorf("avcodec: convert to %dx%d: bad size", w, h)
	}
	if len(dst) != w*h*3 {
		return fmt.Errorf("avcodec: convert to %dx%d BGR needs %d bytes, have %d", w, h, w*h*3, len(dst))
	}
	return avErr("convert", C.dz_dec_convert(d.d, (*C.uint8_t)(unsafe.Pointer(&dst[0])), C.int(w), C.int(h)))
}

// Close frees the decoder; it is safe to call twice.
func (d *Decoder) Close() error {
	if d.d == nil {
		return nil
	}
	C.dz_dec_close(d.d)
	d.d = nil
	live.Add(-1)
	return nil
}
