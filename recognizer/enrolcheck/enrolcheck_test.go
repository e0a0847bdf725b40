package enrolcheck_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/enrolcheck"
	"github.com/dozor-edge/dozor/recognizer/gallery"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

func engine(t *testing.T) recognizer.Engine {
	t.Helper()
	det := opencv.DefaultDetectorConfig
	det.RetryUpscale = true
	e, err := engines.New(testenv.ModelDir(t), engines.FacePlugin, det)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func decodeFile(t *testing.T, path string) *recognizer.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := opencv.DecodeImage(b, 1280)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestCheck(t *testing.T) {
	eng := engine(t)
	enrol := testenv.TestData(t, "video/enroll")
	lin := decodeFile(t, filepath.Join(enrol, "lin-manuel-miranda.png"))
	blank := recognizer.NewImage(320, 240)
	for i := range blank.Pix {
		blank.Pix[i] = 128
	}
	for _, tc := range []struct {
		name   string
		img    *recognizer.Image
		policy recognizer.QualityPolicy
		status enrolcheck.Status
		reason string
		faces  int
	}{
		{"one good face", lin, recognizer.QualityPolicy{}, enrolcheck.StatusEnrolled, "", 1},
		{"group", decodeFile(t, filepath.Join(testenv.TestData(t, "faces"), "pristin.jpg")), recognizer.QualityPolicy{},
			enrolcheck.StatusSeveralFaces, "10 faces: a booking photo must show the one person", 10},
		{"no face", blank, recognizer.QualityPolicy{}, enrolcheck.StatusNoFace, "no face found", 0},
		{"too small for the policy", lin, func() recognizer.QualityPolicy {
			p := recognizer.DefaultEnrolPolicy
			p.MinInterOcular = 10000
			return p
		}(), enrolcheck.StatusPoorQuality, "face too small", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := enrolcheck.Check(eng, tc.img, tc.policy)
			if v.Status != tc.status || v.Faces != tc.faces || !strings.Contains(v.Reason, tc.reason) {
				t.Fatalf("verdict %s (%q), %d faces; want %s (%q), %d", v.Status, v.Reason, v.Faces, tc.status, tc.reason, tc.faces)
			}
			if v.OK() != (tc.status == enrolcheck.StatusEnrolled) {
				t.Errorf("OK %v for %s", v.OK(), v.Status)
			}
			if v.OK() && (len(v.Embedding.Vec) != eng.Dim() || v.Embedding.Model != eng.Model() || v.Quality.Score <= 0) {
				t.Errorf("embedding of model %q with %d components, quality %v", v.Embedding.Model, len(v.Embedding.Vec), v.Quality.Score)
			}
		})
	}
}

func TestStatuses(t *testing.T) {
	if len(enrolcheck.Statuses) != 8 {
		t.Fatalf("%d statuses", len(enrolcheck.Statuses))
	}
	for _, s := range enrolcheck.Statuses {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
		if s.Failed() != (s != enrolcheck.StatusEnrolled && s != enrolcheck.StatusAlreadyEnrolled) {
			t.Errorf("%s: Failed %v", s, s.Failed())
		}
	}
	if enrolcheck.Status("maybe").Valid() {
		t.Error("an unknown status is valid")
	}
	if th, ok := enrolcheck.DefaultThreshold("faceplugin/flip"); !ok || th != 0.47 {
		t.Errorf("faceplugin threshold %v %v", th, ok)
	}
	if _, ok := enrolcheck.DefaultThreshold("unknown/model"); ok {
		t.Error("a threshold was guessed for an unknown model")
	}
}

// unit is a unit vector along axis i, with a little of axis j.
func unit(dim, i, j int, w float32) []float32 {
	v := make([]float32, dim)
	v[i], v[j] = 1, w
	recognizer.Normalize(v)
	return v
}

func TestIndexNearestOther(t *testing.T) {
	const dim = 16
	idx, err := enrolcheck.NewIndex("m", dim, []gallery.Template{
		{PersonID: "A", TemplateID: "a1", Vec: unit(dim, 0, 1, 0)},
		{PersonID: "B", TemplateID: "b1", Vec: unit(dim, 2, 3, 0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	q := recognizer.Embedding{Model: "m", Vec: unit(dim, 0, 2, 0.1)}
	if who, score, err := idx.NearestOther(q, "Z"); err != nil || who != "A" || score < 0.9 {
		t.Errorf("nearest to Z: %s %.3f %v, want A", who, score, err)
	}
	// The person themself is never their own look-alike.
	if who, _, _ := idx.NearestOther(q, "A"); who != "B" {
		t.Errorf("nearest other than A: %s, want B", who)
	}
	// Templates added after the snapshot are searched too, across the
	// rebuild of the snapshot that enough of them cause.
	for i := range 300 {
		idx.Add(gallery.Template{PersonID: "filler", TemplateID: string(rune('a' + i%26)), Vec: unit(dim, 5+i%10, 15, 0.5)})
		if i == 10 {
			idx.Add(gallery.Template{PersonID: "C", TemplateID: "c1", Vec: unit(dim, 0, 2, 0.1)})
		}
	}
	if idx.Len() != 303 {
		t.Errorf("len %d", idx.Len())
	}
	if who, score, _ := idx.NearestOther(q, "Z"); who != "C" || score < 0.999 {
		t.Errorf("nearest after adding C: %s %.3f", who, score)
	}
	if _, err := enrolcheck.NewIndex("m", dim, []gallery.Template{{PersonID: "A", Vec: make([]float32, 8)}}); err == nil {
		t.Error("a template of another dimension was indexed")
	}
}

func TestEncodeJPEG(t *testing.T) {
	img := recognizer.NewImage(64, 48)
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	a, err := enrolcheck.EncodeJPEG(img, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := enrolcheck.EncodeJPEG(img, 1<<20)
	if !bytes.HasPrefix(a, []byte{0xFF, 0xD8, 0xFF}) || !bytes.Equal(a, b) {
		t.Error("not a deterministic JPEG")
	}
	if _, err := enrolcheck.EncodeJPEG(img, 100); err == nil || !strings.Contains(err.Error(), "100-byte limit") {
		t.Errorf("over the limit: %v", err)
	}
}
