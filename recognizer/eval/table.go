package eval

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// EngineSpec is one engine configuration of a comparison table, written
// as an engine name with optional options after a colon, joined by "+":
// noflip (no mirrored chip), norm (gallery cohort score normalisation),
// margin=λ (decision score top1 + λ·margin), w=a/b (fusion weights),
// agg=R (how a person's templates make one score: max, mean, top:K or
// lse:T; see gallery.ParseAggregation), pose=σ (weigh templates by pose
// closeness, σ in degrees), view=σ (standardise each template against
// other persons' templates of similar pose, σ in degrees; see
// gallery.Options.ViewCohortSigma), gate (the usability gate on probes),
// enrol=policy|usable (enrol only gallery photos that pass the production
// enrolment check, or the usability gate); for
// example "fused:noflip" or "fused:agg=lse:0.1+pose=30+gate".
type EngineSpec struct {
	// Spec is the text it was parsed from: the table's engine column.
	Spec    string
	Engine  string
	NoFlip  bool
	Weights []float64 // nil: the engine's own
	// ScoreNorm and MarginWeight go to IdentifyOptions.
	ScoreNorm    bool
	MarginWeight float64
	Aggregation  gallery.Aggregation // zero: the gallery's default
	PoseSigma    float64
	ViewSigma    float64
	Gate         bool
	Enrol        string // "", "policy" or "usable"
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
		case "agg":
			s.Aggregation, err = gallery.ParseAggregation(val)
		case "pose":
			s.PoseSigma, err = parseDegrees(val)
		case "view":
			s.ViewSigma, err = parseDegrees(val)
		case "gate":
			s.Gate = true
		case "enrol":
			switch val {
			case "policy", "usable":
				s.Enrol = val
			default:
				err = fmt.Errorf("want enrol=policy (the enrolment check) or enrol=usable (the usability gate)")
			}
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
// with the given genuine-probe list and the labelled faces of the data
// set's images (for pose weighting and the gate; nil without either).
func (s EngineSpec) IdentifyOptions(genuine string, faces map[string]recognizer.Face) IdentifyOptions {
	o := IdentifyOptions{Genuine: genuine, ScoreNorm: s.ScoreNorm, MarginWeight: s.MarginWeight,
		Aggregation: s.Aggregation, PoseSigma: s.PoseSigma, ViewCohortSigma: s.ViewSigma, Faces: faces}
	if s.Gate {
		o.Usable = DefaultUsable
	}
	switch s.Enrol {
	case "policy":
		o.Enrollable = DefaultEnrollable
	case "usable":
		o.Enrollable = DefaultUsable
	}
	return o
}

// parseDegrees reads an angular spread: a number of degrees in (0, 1e6).
func parseDegrees(val string) (float64, error) {
	d, err := strconv.ParseFloat(val, 64)
	if err != nil || !(d > 0 && d < 1e6) {
		return 0, fmt.Errorf("%q is not a spread in degrees > 0", val)
	}
	return d, nil
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
	fmt.Fprintln(b, "| data set | engine | pair acc % (± std) | TAR@FAR1e-3 % | no-face pairs | rank-1 % | FNIR@FPIR1% | FNIR@FPIR10% | thr@FPIR1% | usable % | usable: rank-1 % | FNIR@FPIR1% | FNIR@FPIR10% |")
	fmt.Fprintln(b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		thr := "-"
		if r.Ident.ThresholdAt1pct != nil {
			thr = fmt.Sprintf("%.3f", *r.Ident.ThresholdAt1pct)
		}
		noFace := 0
		if r.Verify.NoFacePairs != nil {
			noFace = *r.Verify.NoFacePairs
		}
		u := Report{}
		if r.Ident.OverUsable != nil {
			u = *r.Ident.OverUsable
		}
		fmt.Fprintf(b, "| %s | %s | %s ± %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Dataset, r.Engine,
			pct(r.Verify.AccuracyMean), pct(r.Verify.AccuracyStd), pct(r.Verify.TARAtFAR1e3), noFace,
			pct(r.Ident.Rank1), pct(r.Ident.FNIRAtFPIR1pct), pct(r.Ident.FNIRAtFPIR10pct), thr,
			pct(r.Ident.UsableFraction), pct(u.Rank1), pct(u.FNIRAtFPIR1pct), pct(u.FNIRAtFPIR10pct))
	}
	return b.Flush()
}
