package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/recognizer"
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
	type acc struct{ n, s, s2 float64 }
	add := func(a *acc, x float64) { a.n++; a.s += x; a.s2 += x * x }
	stats := func(a acc) (float64, float64) {
		m := a.s / a.n
		return m, math.Sqrt(math.Max(0, a.s2/a.n-m*m))
	}
	names := []string{engines.FacePlugin, engines.DlibONNX}
	same, diff := map[string]*acc{}, map[string]*acc{}
	for _, n := range names {
		same[n], diff[n] = &acc{}, &acc{}
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
			embs := embedAll(feats, variant{engine: n, flip: true})
			for _, p := range ds.Pairs {
				a, b := embs[p.A], embs[p.B]
				if a == nil || b == nil {
					continue
				}
				s := float64(recognizer.Dot(a, b))
				if p.Same {
					add(same[n], s)
				} else {
					add(diff[n], s)
				}
			}
		}
	}
	fmt.Println("| embedder | same mean | same std | different mean | different std | d' |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, n := range names {
		sm, ss := stats(*same[n])
		dm, dsd := stats(*diff[n])
		fmt.Printf("| %s | %.4f | %.4f | %.4f | %.4f | %.2f |\n", n, sm, ss, dm, dsd, (sm-dm)/math.Sqrt((ss*ss+dsd*dsd)/2))
	}
	return nil
}
