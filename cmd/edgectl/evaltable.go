package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dozor-edge/dozor/recognizer/eval"
)

// runEvalTable scores several engines and variants on several data sets and
// prints one table: the comparison behind the choice of default engine.
func runEvalTable(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("eval table", flag.ContinueOnError)
	var datasets multiFlag
	fs.Var(&datasets, "dataset", "data set folder (repeatable)")
	engines := fs.String("engines", "faceplugin,dlibonnx,fused,gofacedlib", "comma-separated engines, each with optional +-joined options after a colon: noflip (no mirrored chip), norm (gallery cohort score normalisation), margin=λ (decision score top1 + λ·margin), w=a/b (fusion weights); e.g. fused:noflip or fused:margin=0.25+norm")
	genuine := fs.String("genuine", "probes_genuine.txt", "genuine probe list in identification/")
	modelsFlag := fs.String("models", "", "models directory")
	asJSON := fs.Bool("json", false, "print JSON")
	plotDir := fs.String("plot-dir", "", "write one identification DET plot per data set into this folder")
	workers := fs.Int("workers", 0, "parallel workers for feature extraction")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(datasets) == 0 {
		return errors.New("at least one --dataset is required")
	}
	type row struct {
		Dataset string      `json:"dataset"`
		Engine  string      `json:"engine"`
		Verify  eval.Report `json:"verify"`
		Ident   eval.Report `json:"identify"`
	}
	var rows []row
	for _, dir := range datasets {
		ds, err := eval.LoadDataset(dir)
		if err != nil {
			return err
		}
		var curves []eval.Curve
		for _, spec := range strings.Split(*engines, ",") {
			name, opts, _ := strings.Cut(strings.TrimSpace(spec), ":")
			f := evalFlags{engine: name, margin: defaultMarginWeight}
			for _, o := range strings.Split(opts, "+") {
				key, val, _ := strings.Cut(o, "=")
				switch key {
				case "":
				case "noflip":
					f.noFlip = true
				case "norm":
					f.scoreNorm = true
				case "margin":
					if f.margin, err = strconv.ParseFloat(val, 64); err != nil {
						return fmt.Errorf("engine option %q: %v", o, err)
					}
				case "w":
					f.weights = strings.ReplaceAll(val, "/", ",")
				default:
					return fmt.Errorf("unknown engine option %q in %q", o, spec)
				}
			}
			v, err := f.variant()
			if err != nil {
				return err
			}
			feats, err := datasetFeatures(ctx, ds, v.engine, *modelsFlag, *workers)
			if err != nil {
				return err
			}
			vr, err := verifyResult(ds, feats, v)
			if err != nil {
				return err
			}
			ir, err := identifyResult(ds, feats, v, *genuine, f.scoreNorm, f.margin)
			if err != nil {
				return err
			}
			rows = append(rows, row{Dataset: filepath.Base(filepath.Clean(dir)), Engine: spec,
				Verify: eval.NewReport(&vr, nil), Ident: eval.NewReport(nil, &ir)})
			curves = append(curves, eval.Curve{Name: spec, Points: ir.DET})
		}
		if *plotDir != "" {
			p := eval.DETPlot{Title: filepath.Base(filepath.Clean(dir)) + ": open-set identification", Curves: curves}
			if err := writePlot(filepath.Join(*plotDir, filepath.Base(filepath.Clean(dir))+"-det.png"), p); err != nil {
				return err
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	pct := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.2f", 100**p)
	}
	fmt.Println("| data set | engine | pair acc % (± std) | TAR@FAR1e-3 % | no-face pairs | rank-1 % | FNIR@FPIR1% | FNIR@FPIR10% | thr@FPIR1% |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		thr := "-"
		if r.Ident.ThresholdAt1pct != nil {
			thr = fmt.Sprintf("%.3f", *r.Ident.ThresholdAt1pct)
		}
		fmt.Printf("| %s | %s | %s ± %s | %s | %d | %s | %s | %s | %s |\n", r.Dataset, r.Engine,
			pct(r.Verify.AccuracyMean), pct(r.Verify.AccuracyStd), pct(r.Verify.TARAtFAR1e3), deref(r.Verify.NoFacePairs),
			pct(r.Ident.Rank1), pct(r.Ident.FNIRAtFPIR1pct), pct(r.Ident.FNIRAtFPIR10pct), thr)
	}
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
