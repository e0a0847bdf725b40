package edge

import (
	"bytes"
	"image"
	"image/jpeg"
	"sync"
	"time"

	"github.com/dozor-edge/dozor/camera"
)

// snapshotEvery is how often a camera's picture is kept for the monitor:
// twice a second is enough for a snapshot tile and costs one copy of a
// detection-size frame each time.
const snapshotEvery = 500 * time.Millisecond

// snapshotQuality is the JPEG quality of snapshots: enough to recognise a
// person on the screen and to draw a zone on.
const snapshotQuality = 80

// snapshots keeps each camera's latest recognised picture for the
// monitor: the tiles of cameras whose video the browser cannot play
// (H.265), the zone editor, and enrolment from the booking camera. The
// pictures are the frames the recognisers already decoded, so a snapshot
// costs no decoding; it is JPEG-encoded only when a browser asks, once per
// picture however many ask.
type snapshots struct {
	mu   sync.Mutex
	cams map[string]*snapshot
	now  func() time.Time
}

type snapshot struct {
	taken time.Time // when the copy was made (for the interval)
	at    time.Time // capture time of the picture
	seq   uint64
	w, h  int
	pix   []byte // BGR, never written after it is stored

	jpeg    []byte
	jpegSeq uint64
}

func newSnapshots() *snapshots {
	return &snapshots{cams: map[string]*snapshot{}, now: time.Now}
}

// offer keeps a copy of f when the camera's last copy is older than
// snapshotEvery. It is called by the workers before they release f.
func (s *snapshots) offer(f *camera.Frame) {
	if f == nil || f.Validate() != nil {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.cams[f.Camera]
	if sn != nil && now.Sub(sn.taken) < snapshotEvery {
		return
	}
	if sn == nil {
		sn = &snapshot{}
		s.cams[f.Camera] = sn
	}
	// A new buffer each time: a JPEG encode may still be reading the old
	// one outside the lock.
	sn.pix = append([]byte(nil), f.Pix...)
	sn.taken, sn.at, sn.seq, sn.w, sn.h = now, f.Captured, f.Seq, f.W, f.H
}

// jpeg returns the camera's latest picture as JPEG and its capture time;
// false when the camera has not been recognised yet.
func (s *snapshots) jpeg(cam string) ([]byte, time.Time, bool) {
	s.mu.Lock()
	sn := s.cams[cam]
	if sn == nil {
		s.mu.Unlock()
		return nil, time.Time{}, false
	}
	if sn.jpeg != nil && sn.jpegSeq == sn.seq {
		b, at := sn.jpeg, sn.at
		s.mu.Unlock()
		return b, at, true
	}
	pix, w, h, seq, at := sn.pix, sn.w, sn.h, sn.seq, sn.at
	s.mu.Unlock()

	b, err := encodeBGR(pix, w, h)
	if err != nil {
		return nil, time.Time{}, false
	}
	s.mu.Lock()
	if sn.seq == seq {
		sn.jpeg, sn.jpegSeq = b, seq
	}
	s.mu.Unlock()
	return b, at, true
}

// encodeBGR encodes a packed BGR picture as JPEG.
func encodeBGR(pix []byte, w, h int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, j := 0, 0; i+2 < len(pix); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = pix[i+2], pix[i+1], pix[i], 0xff
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: snapshotQuality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
