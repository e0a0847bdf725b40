package eval

import (
	"math"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
)

// plainVariant embeds with model "m"'s plain vector as it is.
type plainVariant struct{}

func (plainVariant) Model() recognizer.ModelID  { return "test" }
func (plainVariant) Embed(f Features) []float32 { return f.Vecs["m"].Plain }

func TestEmbeddings(t *testing.T) {
	feats := map[string]Features{
		"a": {Vecs: map[string]RawVec{"m": {Plain: []float32{1, 0}}}},
		// A face-less image with stale vectors: still no embedding.
		"b": {NoFace: true, Vecs: map[string]RawVec{"m": {Plain: []float32{0, 1}}}},
		"c": {},
	}
	embs := Embeddings(feats, plainVariant{})
	if len(embs) != 3 || embs["a"][0] != 1 || embs["b"] != nil || embs["c"] != nil {
		t.Errorf("embeddings %v", embs)
	}
}

// unit returns v scaled to length 1.
func unit(v ...float64) []float32 {
	var n float64
	for _, x := range v {
		n += x * x
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x / math.Sqrt(n))
	}
	return out
}

// tinyEmbeddings embeds the images of baseFiles: the gallery holds A and
// B, A_0002 looks like A (0.7) but also like B (0.6), A_0011 looks less
// like A (0.5) and not at all like B, and the impostor C looks like B
// (0.6).
func tinyEmbeddings() map[string][]float32 {
	return map[string][]float32{
		"A/A_0001.jpg": unit(1, 0, 0, 0),
		"B/B_0001.jpg": unit(0, 1, 0, 0),
		"A/A_0002.jpg": unit(0.7, 0.6, math.Sqrt(0.15), 0),
		"A/A_0011.jpg": unit(0.5, 0, math.Sqrt(0.75), 0),
		"C/C_0001.jpg": unit(0, 0.6, 0, 0.8),
	}
}

func TestVerifyDataset(t *testing.T) {
	ds := loadFake(t, "tiny", baseFiles())
	embs := tinyEmbeddings()
	// Pairs: A1-A2 0.7 and A1-A11 0.5 (same), A1-B1 0 and A2-C1 0.36.
	got, err := VerifyDataset(ds, embs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Verify(ds.Pairs, []float64{0.7, 0.5, 0, 0.36}, ds.Folds)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccuracyMean != 1 || got.NoFacePairs != 0 || math.Abs(got.ThresholdMean-want.ThresholdMean) > 1e-6 {
		t.Errorf("got %+v, want %+v", got, want)
	}
	// An image without a face makes its pair score NaN: counted, and
	// never accepted.
	delete(embs, "A/A_0011.jpg")
	got, err = VerifyDataset(ds, embs)
	if err != nil {
		t.Fatal(err)
	}
	if got.NoFacePairs != 1 || got.AccuracyMean != 0.75 {
		t.Errorf("with one face missing: no-face pairs %d, accuracy %v; want 1 and 0.75", got.NoFacePairs, got.AccuracyMean)
	}
}

func TestIdentifyDataset(t *testing.T) {
	ds := loadFake(t, "tiny", baseFiles())
	cases := []struct {
		name    string
		drop    string // image without a face
		opts    IdentifyOptions
		genuine int
		noFace  int
		rank1   float64
		fnir1   float64
	}{
		// Impostor C scores 0.6: only A_0002 (0.7) clears a threshold
		// above it.
		{name: "top score", genuine: 2, rank1: 1, fnir1: 0.5},
		// With the margin, A_0002 is 0.8, A_0011 1.0 and C 1.2: neither
		// genuine probe clears it.
		{name: "margin", opts: IdentifyOptions{MarginWeight: 1}, genuine: 2, rank1: 1, fnir1: 1},
		{name: "other genuine list", opts: IdentifyOptions{Genuine: GenuineMax5File}, genuine: 1, rank1: 1, fnir1: 0},
		// A's enrolment photo has no face: A is never found.
		{name: "gallery photo without a face", drop: "A/A_0001.jpg", genuine: 2, rank1: 0, fnir1: 1},
		{name: "probe without a face", drop: "A/A_0002.jpg", genuine: 2, noFace: 1, rank1: 0.5, fnir1: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			embs := tinyEmbeddings()
			delete(embs, c.drop)
			r, err := IdentifyDataset(ds, "test", embs, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Genuine != c.genuine || r.Impostor != 1 || r.NoFaceGenuine != c.noFace || r.Rank1 != c.rank1 || r.AtFPIR1pct.FNIR != c.fnir1 {
				t.Errorf("genuine %d impostor %d no-face %d rank-1 %v FNIR %v; want %d 1 %d %v %v",
					r.Genuine, r.Impostor, r.NoFaceGenuine, r.Rank1, r.AtFPIR1pct.FNIR, c.genuine, c.noFace, c.rank1, c.fnir1)
			}
		})
	}

	errCases := []struct {
		name string
		embs map[string][]float32
		opts IdentifyOptions
		want string
	}{
		{"no gallery face", map[string][]float32{}, IdentifyOptions{}, "no gallery photo yielded a face"},
		{"missing genuine list", tinyEmbeddings(), IdentifyOptions{Genuine: "nope.txt"}, "nope.txt"},
		{"bad vector", map[string][]float32{"A/A_0001.jpg": {0, 0}}, IdentifyOptions{}, "norm"},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			_, err := IdentifyDataset(ds, "test", c.embs, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want it to mention %q", err, c.want)
			}
		})
	}
}
