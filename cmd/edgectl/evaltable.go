package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"

	"github.com/dozor-edge/dozor/internal/engines/features"
	"github.com/dozor-edge/dozor/recognizer/eval"
)

// runEvalTable scores several engines and variants on several data sets and
// prints one table: the comparison behind the choice of default engine.
func runEvalTable(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("eval table", flag.ContinueOnError)
	var datasets multiFlag
	fs.Var(&datasets, "dataset", "data set folder (repeatable)")
	engineList := fs.String("engines", "faceplugin,dlibonnx,fused,gofacedlib", "comma-separated engines, each with optional +-joined options after a colon: noflip (no mirrored chip), norm (gallery cohort score normalisation), margin=λ (decision score top1 + λ·margin), w=a/b (fusion weights); e.g. fused:noflip or fused:margin=0.25+norm")
	genuine := fs.String("genuine", eval.GenuineFile, "genuine probe list in identification/")
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
	var specs []eval.EngineSpec
	var variants []features.Variant
	for _, s := range strings.Split(*engineList, ",") {
		spec, err := eval.ParseEngineSpec(s)
		if err != nil {
			return err
		}
		v, err := features.NewVariant(spec.Engine, !spec.NoFlip, spec.Weights)
		if err != nil {
			return err
		}
		specs, variants = append(specs, spec), append(variants, v)
	}
	var rows []eval.TableRow
	for _, dir := range datasets {
		ds, err := eval.LoadDataset(dir)
		if err != nil {
			return err
		}
		var curves []eval.Curve
		for i, spec := range specs {
			feats, err := datasetFeatures(ctx, ds, variants[i].Engine, *modelsFlag, *workers)
			if err != nil {
				return err
			}
			row, ir, err := eval.NewTableRow(ds, spec.Spec, feats, variants[i], spec.IdentifyOptions(*genuine))
			if err != nil {
				return err
			}
			rows = append(rows, row)
			curves = append(curves, eval.Curve{Name: spec.Spec, Points: ir.DET})
		}
		if *plotDir != "" {
			p := eval.DETPlot{Title: ds.Name() + ": open-set identification", Curves: curves}
			if err := writePlot(filepath.Join(*plotDir, ds.Name()+"-det.png"), p); err != nil {
				return err
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	return eval.WriteTable(os.Stdout, rows)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
