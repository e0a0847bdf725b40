package engines

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/models"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

func TestSpecsComeFromManifest(t *testing.T) {
	for _, name := range []string{FacePlugin, DlibONNX} {
		s, err := Spec(name)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := models.Lookup(s.File)
		if s.Dim != f.Dim || s.Template.Size != f.Templates[0].Size || s.Scale != f.Blob.Scale || !s.SwapRB {
			t.Errorf("%s: spec %+v disagrees with manifest %+v", name, s, f)
		}
		if s.ImpostorStd <= 0 {
			t.Errorf("%s: no impostor statistics", name)
		}
	}
	if _, err := Specs("nonsense"); err == nil {
		t.Fatal("unknown engine accepted")
	}
}

// A damaged model file must be refused with an error naming it, and the
// process must live on: OpenCV itself would abort on some of these.
func TestDamagedModelFilesAreRefused(t *testing.T) {
	src := testenv.ModelDir(t)
	cases := []struct {
		name   string
		file   string
		damage func(b []byte) []byte
		want   error
	}{
		{"truncated detector", models.YuNet, func(b []byte) []byte { return b[:len(b)/2] }, models.ErrSize},
		{"altered embedder", models.FacePlugin, func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b }, models.ErrChecksum},
		{"empty embedder", models.DlibONNX, func(b []byte) []byte { return nil }, models.ErrSize},
		{"missing detector", models.YuNet, nil, models.ErrMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{models.YuNet, models.FacePlugin, models.DlibONNX} {
				if f == c.file && c.damage == nil {
					continue
				}
				b, err := os.ReadFile(filepath.Join(src, f))
				if err != nil {
					t.Fatal(err)
				}
				if f == c.file {
					b = c.damage(b)
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			e, err := NewOpenCV(dir, Fused, opencv.DefaultDetectorConfig)
			if err == nil {
				e.Close()
				t.Fatal("damaged model set accepted")
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.file) {
				t.Fatalf("error %q: want %v naming %s", err, c.want, c.file)
			}
		})
	}
	// Still alive, and the intact set still loads.
	e, err := NewOpenCV(src, Fused, opencv.DefaultDetectorConfig)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
}

func TestNewEveryEngine(t *testing.T) {
	dir := testenv.ModelDir(t)
	img := testenv.TestData(t, "lfw-dev")
	data, err := os.ReadFile(filepath.Join(img, "images", "George_Clooney", "George_Clooney_0001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	photo, err := opencv.DecodeImage(data, 1280)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append([]string{"default"}, Names...) {
		t.Run(name, func(t *testing.T) {
			e, err := New(dir, name, opencv.DefaultDetectorConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			faces, err := e.Detect(photo)
			if err != nil || len(faces) == 0 {
				t.Fatalf("%d faces, %v", len(faces), err)
			}
			embs, err := e.Embed(photo, faces[:1])
			if err != nil || len(embs) != 1 || len(embs[0].Vec) != e.Dim() || embs[0].Model != e.Model() {
				t.Fatalf("embedding %+v, %v", embs, err)
			}
		})
	}
	if _, err := New(dir, "nonsense", opencv.DefaultDetectorConfig); err == nil {
		t.Fatal("unknown engine accepted")
	}
}
