package opencv

import (
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
)

// Per-stage benchmarks; `edgectl bench` prints the same stages with one
// thread and with all cores.

func benchSetup(b *testing.B) (*Engine, []byte, *recognizer.Image, []recognizer.Face) {
	e := newTestEngine(b, facePlugin(b), dlibONNX(b))
	data := facePhoto(b)
	img, err := DecodeImage(data, 1280)
	if err != nil {
		b.Fatal(err)
	}
	faces, err := e.Detect(img)
	if err != nil || len(faces) == 0 {
		b.Fatalf("%d faces, %v", len(faces), err)
	}
	return e, data, img, faces[:1]
}

func BenchmarkDecodeJPEG(b *testing.B) {
	_, data, _, _ := benchSetup(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeImage(data, 1280); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	e, _, img, _ := benchSetup(b)
	for b.Loop() {
		if _, err := e.Detect(img); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAlign(b *testing.B) {
	e, _, img, faces := benchSetup(b)
	for b.Loop() {
		if err := e.AlignOnly(img, faces); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmbedFused(b *testing.B) {
	e, _, img, faces := benchSetup(b)
	for b.Loop() {
		if _, err := e.Embed(img, faces); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkForwardEmbedders(b *testing.B) {
	e, _, _, _ := benchSetup(b)
	for b.Loop() {
		if err := e.EmbedderForward(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPipeline(b *testing.B) {
	e, data, _, _ := benchSetup(b)
	for b.Loop() {
		img, err := DecodeImage(data, 1280)
		if err != nil {
			b.Fatal(err)
		}
		if _, embs, err := e.Recognize(img, nil); err != nil || len(embs) == 0 {
			b.Fatalf("%d embeddings, %v", len(embs), err)
		}
	}
}
