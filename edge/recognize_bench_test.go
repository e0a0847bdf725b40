//go:build cgo

package edge

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

// BenchmarkFrame is a worker's work on one frame with faces (a group
// photo at the detection size), as the daemon does it ("recognize": one
// Engine.Recognize call, the faces' pixels cut for the tracker) and as it
// did before ("detect-embed-jpeg": Detect, then Embed, each handing the
// frame to OpenCV, and a JPEG for every face of every frame). Compare the
// two in one run: go test -run '^$' -bench BenchmarkFrame ./edge/
func BenchmarkFrame(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(testenv.TestData(b, "faces"), "pristin.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	img, err := opencv.DecodeImage(data, 640)
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engines.ForWorkers(testenv.ModelDir(b), "fused", 640, 1)()
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	want := func(fc recognizer.Face) bool { return fc.InterOcular() >= minEmbedInterOcular }

	b.Run("recognize", func(b *testing.B) {
		d := lendDaemon()
		faces := 0
		for b.Loop() {
			res := d.recognize(eng, &camera.Frame{Camera: "c", Seq: 1, W: img.W, H: img.H, Pix: img.Pix})
			faces = len(res.obs)
		}
		b.ReportMetric(float64(faces), "faces/frame")
	})
	b.Run("detect-embed-jpeg", func(b *testing.B) {
		faces := 0
		for b.Loop() {
			fs, err := eng.Detect(img)
			if err != nil {
				b.Fatal(err)
			}
			var big []recognizer.Face
			for _, fc := range fs {
				if want(fc) {
					big = append(big, fc)
				}
			}
			if _, err := eng.Embed(img, big); err != nil {
				b.Fatal(err)
			}
			for _, fc := range fs {
				_ = encodeCrop(cutImage(cutCrop(img, fc.Box)))
			}
			faces = len(fs)
		}
		b.ReportMetric(float64(faces), "faces/frame")
	})
}
