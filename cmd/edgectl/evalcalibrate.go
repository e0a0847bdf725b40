package main

import (
	"context"
	"errors"
	"flag"
	"os"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/engines/features"
	"github.com/dozor-edge/dozor/recognizer/eval"
)

// runEvalCalibrate prints, per embedder, the mean and spread of cosine
// similarity for same-person and different-person pairs pooled over the
// given data sets. The different-person figures are the fusion normalisers
// in internal/engines; d' says how well each model separates the two.
func runEvalCalibrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("eval calibrate", flag.ContinueOnError)
	var datasets multiFlag
	fs.Var(&datasets, "dataset", "data set folder (repeatable)")
	modelsFlag := fs.String("models", "", "models directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(datasets) == 0 {
		return errors.New("at least one --dataset is required")
	}
	names := []string{engines.FacePlugin, engines.DlibONNX}
	seps := map[string]*eval.Separation{}
	for _, n := range names {
		seps[n] = &eval.Separation{}
	}
	for _, dir := range datasets {
		ds, err := eval.LoadDataset(dir)
		if err != nil {
			return err
		}
		feats, err := datasetFeatures(ctx, ds, engines.Fused, *modelsFlag, 0)
		if err != nil {
			return err
		}
		for _, n := range names {
			seps[n].AddPairs(ds.Pairs, eval.Embeddings(feats, features.Variant{Engine: n, Flip: true}))
		}
	}
	return eval.WriteCalibration(os.Stdout, names, seps)
}
