package opencv

import (
	"testing"

	"github.com/dozor-edge/dozor/models"
	"github.com/dozor-edge/dozor/recognizer"
)

// testSpec builds an embedder spec straight from the manifest (the
// production path goes through internal/engines, which imports this
// package and so cannot be used here).
func testSpec(t testing.TB, name, file string) EmbedderSpec {
	t.Helper()
	f, ok := models.Lookup(file)
	if !ok || len(f.Templates) == 0 {
		t.Fatalf("manifest has no template for %s", file)
	}
	s := EmbedderSpec{Name: name, File: f.Name, Dim: f.Dim, Scale: f.Blob.Scale, Mean: f.Blob.Mean, SwapRB: f.Blob.SwapRB,
		Template: recognizer.Template{Size: f.Templates[0].Size}, ImpostorStd: 1}
	for i, p := range f.Templates[0].Points {
		s.Template.Points[i] = recognizer.Point(p)
	}
	return s
}

func facePlugin(t testing.TB) EmbedderSpec { return testSpec(t, "faceplugin", models.FacePlugin) }
func dlibONNX(t testing.TB) EmbedderSpec   { return testSpec(t, "dlibonnx", models.DlibONNX) }
