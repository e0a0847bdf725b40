package edge

import (
	"bytes"
	"image/jpeg"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/camera"
)

func TestSnapshotsKeepOnePicturePerIntervalAndEncodeOnce(t *testing.T) {
	s := newSnapshots()
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	if _, _, ok := s.jpeg("cam1"); ok {
		t.Fatal("a camera never recognised has a snapshot")
	}
	frame := func(seq uint64, blue byte) *camera.Frame {
		f := &camera.Frame{Camera: "cam1", Seq: seq, Captured: now, W: 32, H: 16, Pix: make([]byte, 32*16*3)}
		for i := 0; i < len(f.Pix); i += 3 {
			f.Pix[i] = blue // BGR: blue first
		}
		return f
	}
	s.offer(frame(1, 250))
	first, at, ok := s.jpeg("cam1")
	if !ok || !at.Equal(now) {
		t.Fatalf("snapshot: ok %v at %v", ok, at)
	}
	img, err := jpeg.Decode(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 32 || b.Dy() != 16 {
		t.Fatalf("snapshot is %v, want 32x16", b)
	}
	r, g, b, _ := img.At(5, 5).RGBA()
	if b>>8 < 200 || r>>8 > 60 || g>>8 > 60 {
		t.Errorf("a blue BGR frame encoded as rgb(%d,%d,%d)", r>>8, g>>8, b>>8)
	}
	again, _, _ := s.jpeg("cam1")
	if &again[0] != &first[0] {
		t.Error("the same picture was encoded twice")
	}

	now = now.Add(snapshotEvery / 2)
	s.offer(frame(2, 0))
	if b, _, _ := s.jpeg("cam1"); !bytes.Equal(b, first) {
		t.Error("a frame within the interval replaced the snapshot")
	}
	now = now.Add(snapshotEvery)
	s.offer(frame(3, 0))
	if b, _, _ := s.jpeg("cam1"); bytes.Equal(b, first) {
		t.Error("a frame after the interval did not replace the snapshot")
	}
	s.offer(&camera.Frame{Camera: "cam1", W: 4, H: 4, Pix: make([]byte, 5)}) // invalid: ignored
}
