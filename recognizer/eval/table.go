package eval

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// EngineSpec is one engine configuration of a comparison table, written
// as an engine name with optional options after a colon, joined by "+":
// noflip (no mirrored chip), norm (gallery cohort score normalisation),
// margin=λ (decision score top1 + λ·margin), w=a/b (fusion weights); for
// example "fused:noflip" or "fused:margin=0.25+norm".
type EngineSpec struct {
	// Spec is the text it was parsed from: the table's engine column.
	Spec    string
	Engine  string
	NoFlip  bool
	Weights []float64 // nil: the engine's own
	// ScoreNorm and MarginWeight go to IdentifyOptions.
	ScoreNorm    bool
	MarginWeight float64
}

// ParseEngineSpec parses one engine configuration (see EngineSpec). The
// engine name is not checked here: the caller knows which engines exist.
func ParseEngineSpec(spec string) (EngineSpec, error) {
	name, opts, _ := strings.Cut(strings.TrimSpace(spec), ":")
	s := EngineSpec{Spec: spec, Engine: name, MarginWeight: DefaultMarginWeight}
	for _, o := range strings.Split(opts, "+") {
		key, val, _ := strings.Cut(o, "=")
		var err error
		switch key {
		case "":
		case "noflip":
			s.NoFlip = true
		case "norm":
			s.ScoreNorm = true
		case "margin":
			s.MarginWeight, err = strconv.ParseFloat(val, 64)
		case "w":
			s.Weights, err = ParseWeights(strings.ReplaceAll(val, "/", ","))
		default:
			return EngineSpec{}, fmt.Errorf("unknown engine option %q in %q", o, spec)
		}
		if err != nil {
			return EngineSpec{}, fmt.Errorf("engine option %q: %v", o, err)
		}
	}
	return s, nil
}

// IdentifyOptions returns the identification options the spec asks for,
// with the given genuine-probe list.
func (s EngineSpec) IdentifyOptions(genuine string) IdentifyOptions {
	return IdentifyOptions{Genuine: genuine, ScoreNorm: s.ScoreNorm, MarginWeight: s.MarginWeight}
}

// ParseWeights parses comma-separated fusion weights: finite,
// non-negative numbers.
func ParseWeights(s string) ([]float64, error) {
	var ws []float64
	for _, f := range strings.Split(s, ",") {
		w, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("%q is not a non-negative number", f)
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// TableRow is one engine configuration on one data set, with both
// protocols' reports. The JSON keys are stable.
type TableRow struct {
	Dataset string `json:"dataset"`
	Engine  string `json:"engine"`
	Verify  Report `json:"verify"`
	Ident   Report `json:"identify"`
}

// NewTableRow embeds feats with v and runs both protocols on ds. It
// returns the row, named engine, and the identification result, whose
// DET curve the table's plots draw.
func NewTableRow(ds *Dataset, engine string, feats map[string]Features, v Variant, opts IdentifyOptions) (TableRow, IdentifyResult, error) {
	embs := Embeddings(feats, v)
	vr, err := VerifyDataset(ds, embs)
	if err != nil {
		return TableRow{}, IdentifyResult{}, err
	}
	ir, err := IdentifyDataset(ds, v.Model(), embs, opts)
	if err != nil {
		return TableRow{}, IdentifyResult{}, err
	}
	return TableRow{Dataset: ds.Name(), Engine: engine, Verify: NewReport(&vr, nil), Ident: NewReport(nil, &ir)}, ir, nil
}

// WriteTable writes the rows as a Markdown table, rates in percent.
func WriteTable(w io.Writer, rows []TableRow) error {
	pct := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.2f", 100**p)
	}
	b := bufio.NewWriter(w)
	fmt.Fprintln(b, "| data set | engine | pair acc % (± std) | TAR@FAR1e-3 % | no-face pairs | rank-1 % | FNIR@FPIR1% | FNIR@FPIR10% | thr@FPIR1% |")
	fmt.Fprintln(b, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		thr := "-"
		if r.Ident.ThresholdAt1pct != nil {
			thr = fmt.Sprintf("%.3f", *r.Ident.ThresholdAt1pct)
		}
		noFace := 0
		if r.Verify.NoFacePairs != nil {
			noFace = *r.Verify.NoFacePairs
		}
		fmt.Fprintf(b, "| %s | %s | %s ± %s | %s | %d | %s | %s | %s | %s |\n", r.Dataset, r.Engine,
			pct(r.Verify.AccuracyMean), pct(r.Verify.AccuracyStd), pct(r.Verify.TARAtFAR1e3), noFace,
			pct(r.Ident.Rank1), pct(r.Ident.FNIRAtFPIR1pct), pct(r.Ident.FNIRAtFPIR10pct), thr)
	}
	return b.Flush()
}
