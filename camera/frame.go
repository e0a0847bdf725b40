package camera

import (
	"fmt"
	"time"
)

// Frame is one sampled, decoded picture. It owns its pixel buffer: once
// handed off, the camera never touches Pix again. The layout is the one of
// recognizer.Image (packed BGR, H rows of W*3 bytes, blue first), so the
// recognizer wraps it without copying:
//
//	img := &recognizer.Image{W: f.W, H: f.H, Pix: f.Pix}
type Frame struct {
	// Camera is the id of the camera that produced the frame.
	Camera string
	// Seq counts the frames a camera handed off, from 1, across
	// reconnections; a gap means frames were dropped.
	Seq uint64
	// Captured is the capture time: the picture's RTP timestamp mapped to
	// this machine's wall clock.
	Captured time.Time
	W, H     int
	Pix      []byte
	// FullW, FullH and FullPix are the same picture at a higher resolution
	// (the decoded size, bounded by TrackConfig.ChipMaxSide), in the layout
	// of Pix: faces are found in Pix and their chips cut from FullPix, where
	// a face has up to three times the pixels. FullPix is nil when the
	// decoded picture is no larger than W x H.
	FullW, FullH int
	FullPix      []byte

	pool, fullPool *bufPool
}

// Validate reports whether the dimensions and the buffer agree.
func (f *Frame) Validate() error {
	if f == nil {
		return fmt.Errorf("frame: nil")
	}
	if f.W <= 0 || f.H <= 0 || len(f.Pix) != f.W*f.H*3 {
		return fmt.Errorf("frame %s#%d: %dx%d with %d bytes", f.Camera, f.Seq, f.W, f.H, len(f.Pix))
	}
	if f.FullPix != nil && (f.FullW < f.W || f.FullH < f.H || len(f.FullPix) != f.FullW*f.FullH*3) {
		return fmt.Errorf("frame %s#%d: full picture %dx%d with %d bytes beside %dx%d", f.Camera, f.Seq, f.FullW, f.FullH, len(f.FullPix), f.W, f.H)
	}
	return nil
}

// Release gives the pixel buffers back to the camera for reuse. It is
// optional (an unreleased frame is garbage collected); after Release the
// frame must not be used.
func (f *Frame) Release() {
	if f == nil {
		return
	}
	if f.pool != nil {
		f.pool.put(f.Pix)
	}
	if f.fullPool != nil {
		f.fullPool.put(f.FullPix)
	}
	f.Pix, f.pool, f.FullPix, f.fullPool = nil, nil, nil, nil
}

// bufPool keeps a few pixel buffers of one camera so a steady stream does
// not allocate a buffer per frame. Bounded: extra buffers are left to the
// garbage collector.
type bufPool struct{ c chan []byte }

func newBufPool(n int) *bufPool { return &bufPool{c: make(chan []byte, n)} }

// get returns a buffer of exactly n bytes.
func (p *bufPool) get(n int) []byte {
	for range cap(p.c) {
		select {
		case b := <-p.c:
			if cap(b) >= n {
				return b[:n]
			}
		default:
			return make([]byte, n)
		}
	}
	return make([]byte, n)
}

func (p *bufPool) put(b []byte) {
	if b == nil {
		return
	}
	select {
	case p.c <- b:
	default:
	}
}
