package eval

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// engineSpecCases are the parser's named cases, which also seed its fuzz
// test.
var engineSpecCases = []struct {
	spec string
	want EngineSpec
	err  string
}{
	{spec: "fused", want: EngineSpec{Spec: "fused", Engine: "fused"}},
	{spec: " fused:noflip", want: EngineSpec{Spec: " fused:noflip", Engine: "fused", NoFlip: true}},
	{spec: "fused:margin=0.25+norm", want: EngineSpec{Spec: "fused:margin=0.25+norm", Engine: "fused", ScoreNorm: true, MarginWeight: 0.25}},
	{spec: "fused:w=1/0.5+noflip+", want: EngineSpec{Spec: "fused:w=1/0.5+noflip+", Engine: "fused", NoFlip: true, Weights: []float64{1, 0.5}}},
	{spec: "fused:", want: EngineSpec{Spec: "fused:", Engine: "fused"}},
	{spec: "fused:agg=lse:0.1+pose=30+gate", want: EngineSpec{Spec: "fused:agg=lse:0.1+pose=30+gate", Engine: "fused", Aggregation: gallery.Aggregation{Kind: gallery.AggSoftmax, T: 0.1}, PoseSigma: 30, Gate: true}},
	{spec: "fused:agg=max", want: EngineSpec{Spec: "fused:agg=max", Engine: "fused", Aggregation: gallery.Aggregation{Kind: gallery.AggMax}}},
	{spec: "fused:agg=median", err: `engine option "agg=median": aggregation "median"`},
	{spec: "fused:pose=0", err: `engine option "pose=0": "0" is not a spread`},
	{spec: "fused:fast", err: `unknown engine option "fast" in "fused:fast"`},
	{spec: "fused:margin=x", err: `engine option "margin=x": strconv.ParseFloat`},
	{spec: "fused:w=1/-2", err: `engine option "w=1/-2": "-2" is not a non-negative number`},
	{spec: "fused:view=40+gate", want: EngineSpec{Spec: "fused:view=40+gate", Engine: "fused", ViewSigma: 40, Gate: true}},
	{spec: "fused:view=", err: `engine option "view=": "" is not a spread in degrees > 0`},
	{spec: "fused:view=-5", err: `engine option "view=-5": "-5" is not a spread in degrees > 0`},
	{spec: "fused:view=NaN", err: `engine option "view=NaN": "NaN" is not a spread in degrees > 0`},
}

func TestParseEngineSpec(t *testing.T) {
	for _, c := range engineSpecCases {
		t.Run(c.spec, func(t *testing.T) {
			got, err := ParseEngineSpec(c.spec)
			if testenv.ErrAsWanted(t, err, c.err) && !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v; want %+v", got, c.want)
			}
		})
	}
	s, _ := ParseEngineSpec("fused:view=40")
	if o := s.IdentifyOptions("", nil); o.ViewCohortSigma != 40 {
		t.Errorf("view=40 gives identify options %+v", o)
	}
	s, _ = ParseEngineSpec("fused:norm+margin=0.5")
	if o := s.IdentifyOptions(GenuineMax5File, nil); !reflect.DeepEqual(o, IdentifyOptions{Genuine: GenuineMax5File, ScoreNorm: true, MarginWeight: 0.5}) {
		t.Errorf("identify options %+v", o)
	}
}

// FuzzParseEngineSpec checks that any spec either parses into options the
// gallery accepts or fails with an error naming the option.
func FuzzParseEngineSpec(f *testing.F) {
	for _, c := range engineSpecCases {
		f.Add(c.spec)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseEngineSpec(spec)
		if err != nil {
			if !strings.Contains(err.Error(), "option") {
				t.Fatalf("error %q names no option", err)
			}
			return
		}
		opt := gallery.Options{ScoreNorm: s.ScoreNorm, Aggregation: s.Aggregation, PoseSigma: s.PoseSigma, ViewCohortSigma: s.ViewSigma}
		if _, err := gallery.New("m", 4, nil, opt); err != nil {
			t.Fatalf("%q parsed into options the gallery rejects: %v", spec, err)
		}
	})
}

func TestParseWeights(t *testing.T) {
	if w, err := ParseWeights(" 1, 0.5"); err != nil || !reflect.DeepEqual(w, []float64{1, 0.5}) {
		t.Errorf("got %v, %v", w, err)
	}
	for _, bad := range []string{"", "1,", "abc", "-1", "NaN", "Inf", "1,+Inf"} {
		if w, err := ParseWeights(bad); err == nil {
			t.Errorf("%q accepted as %v", bad, w)
		}
	}
}

func TestTable(t *testing.T) {
	ds := loadFake(t, "tiny", baseFiles())
	feats := map[string]Features{}
	for p, e := range tinyEmbeddings() {
		feats[p] = Features{Vecs: map[string]RawVec{"m": {Plain: e}}}
	}
	row, ir, err := NewTableRow(ds, "plain", feats, plainVariant{}, IdentifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if row.Dataset != "tiny" || row.Engine != "plain" || *row.Verify.AccuracyMean != 1 || *row.Ident.Rank1 != 1 || ir.Genuine != 2 || len(ir.DET) == 0 {
		t.Fatalf("row %+v, identification %+v", row, ir)
	}
	b, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	json.Unmarshal(b, &keys)
	if len(keys) != 4 || keys["dataset"] == nil || keys["engine"] == nil || keys["verify"] == nil || keys["identify"] == nil {
		t.Errorf("JSON keys of a row: %s", b)
	}

	// A gated row: the impostor's face fails the gate.
	faces := map[string]recognizer.Face{}
	for p := range feats {
		faces[p] = recognizer.Face{Score: 1}
	}
	faces["C/C_0001.jpg"] = recognizer.Face{}
	spec, _ := ParseEngineSpec("plain:gate")
	opts := spec.IdentifyOptions("", faces)
	opts.Usable = func(f recognizer.Face) bool { return f.Score > 0 }
	gated, _, err := NewTableRow(ds, spec.Spec, feats, plainVariant{}, opts)
	if err != nil {
		t.Fatal(err)
	}

	var out strings.Builder
	if err := WriteTable(&out, []TableRow{row, gated, {Dataset: "x", Engine: "none"}}); err != nil {
		t.Fatal(err)
	}
	want := "| data set | engine | pair acc % (± std) | TAR@FAR1e-3 % | no-face pairs | rank-1 % | FNIR@FPIR1% | FNIR@FPIR10% | thr@FPIR1% | usable % | usable: rank-1 % | FNIR@FPIR1% | FNIR@FPIR10% |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|---|---|\n" +
		"| tiny | plain | 100.00 ± 0.00 | 100.00 | 0 | 100.00 | 50.00 | 50.00 | 0.600 | - | - | - | - |\n" +
		"| tiny | plain:gate | 100.00 ± 0.00 | 100.00 | 0 | 100.00 | 0.00 | 0.00 | 0.500 | 66.67 | - | - | - |\n" +
		"| x | none | - ± - | - | 0 | - | - | - | - | - | - | - | - |\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
