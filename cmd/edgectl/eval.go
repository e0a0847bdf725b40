package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/engines/features"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/eval"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// engineNames lists what --engine accepts; "default" is engines.Default.
var engineNames = append([]string{"default"}, engines.Names...)

type evalFlags struct {
	dataset, engine, genuine, plot, models string
	json, noFlip, scoreNorm, gate          bool
	weights, gallery, views, agg           string
	margin, poseSigma                      float64
	workers                                int
}

func (f *evalFlags) register(fs *flag.FlagSet, identify bool) {
	fs.StringVar(&f.dataset, "dataset", "", "data set folder laid out like lfw-dev (images/, pairs.txt, identification/)")
	fs.StringVar(&f.engine, "engine", "default", "engine: "+strings.Join(engineNames, ", "))
	fs.StringVar(&f.plot, "plot", "", "write the DET curve to this PNG file")
	fs.StringVar(&f.models, "models", "", "models directory (default: $DOZOR_MODELS, ./var/models, ../shared/models)")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	fs.BoolVar(&f.noFlip, "no-flip", false, "embed the chip only, without its mirror image")
	fs.StringVar(&f.weights, "weights", "", "fusion weights faceplugin,dlibonnx (default equal after score normalisation)")
	fs.IntVar(&f.workers, "workers", 0, "parallel workers for feature extraction (default: all cores)")
	if identify {
		fs.StringVar(&f.genuine, "genuine", eval.GenuineFile, "genuine probe list in identification/")
		fs.BoolVar(&f.scoreNorm, "score-norm", false, "normalise each gallery template's scores by its cohort statistics")
		fs.Float64Var(&f.margin, "margin", eval.DefaultMarginWeight, "weight of the margin over the runner-up in the decision score")
		fs.StringVar(&f.gallery, "gallery", "", "enrol this gallery list instead of identification/gallery.txt (\"<identity>\\t<path>\" lines, several images per person allowed)")
		fs.StringVar(&f.views, "views", "", "enrol each gallery person from rig mugshots (frmdb-dev): "+strings.Join(eval.ViewNames(), ", "))
		fs.StringVar(&f.agg, "agg", "", "how a person's templates make one score: max, mean, top:K, lse:T (default: the gallery's)")
		fs.Float64Var(&f.poseSigma, "pose", 0, "weigh each template by its pose closeness to the probe, spread in degrees (0: off)")
		fs.BoolVar(&f.gate, "gate", false, "apply the usability gate to probes and report the usable ones apart")
	}
}

func (f *evalFlags) variant() (features.Variant, error) {
	var weights []float64
	if f.weights != "" {
		var err error
		if weights, err = eval.ParseWeights(f.weights); err != nil {
			return features.Variant{}, fmt.Errorf("--weights: %w", err)
		}
	}
	return features.NewVariant(f.engine, !f.noFlip, weights)
}

func runEval(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: edgectl eval verify|identify|table|calibrate --dataset DIR [flags]")
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Println("usage: edgectl eval verify|identify|table|calibrate --dataset DIR [flags]")
		return nil
	case "verify":
		return runEvalOne(ctx, args[1:], false)
	case "identify":
		return runEvalOne(ctx, args[1:], true)
	case "table":
		return runEvalTable(ctx, args[1:])
	case "calibrate":
		return runEvalCalibrate(ctx, args[1:])
	}
	return fmt.Errorf("unknown eval mode %q: want verify, identify, table or calibrate", args[0])
}

func runEvalOne(ctx context.Context, args []string, identify bool) error {
	mode := "verify"
	if identify {
		mode = "identify"
	}
	fs := flag.NewFlagSet("eval "+mode, flag.ContinueOnError)
	var f evalFlags
	f.register(fs, identify)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.dataset == "" {
		return errors.New("--dataset is required")
	}
	v, err := f.variant()
	if err != nil {
		return err
	}
	var agg gallery.Aggregation
	if f.agg != "" {
		if agg, err = gallery.ParseAggregation(f.agg); err != nil {
			return fmt.Errorf("--agg: %w", err)
		}
	}
	if !(f.poseSigma >= 0) {
		return fmt.Errorf("--pose: %v is not a spread in degrees >= 0", f.poseSigma)
	}
	ds, err := eval.LoadDataset(f.dataset)
	if err != nil {
		return err
	}
	if identify {
		list, _, err := chooseGallery(ds, f.gallery, f.views)
		if err != nil {
			return err
		}
		if list != nil {
			ds.UseGallery(list)
		}
	}
	feats, err := datasetFeatures(ctx, ds, v.Engine, f.models, f.workers)
	if err != nil {
		return err
	}
	embs := eval.Embeddings(feats, v)
	var rep eval.Report
	var curve eval.Curve
	if identify {
		opts := eval.IdentifyOptions{Genuine: f.genuine, ScoreNorm: f.scoreNorm, MarginWeight: f.margin,
			PoseSigma: f.poseSigma, Faces: eval.FacesOf(feats)}
		opts.Aggregation = agg
		if f.gate {
			opts.Usable = eval.DefaultUsable
		}
		res, err := eval.IdentifyDataset(ds, v.Model(), embs, opts)
		if err != nil {
			return err
		}
		rep = eval.NewReport(nil, &res)
		curve = eval.Curve{Name: string(v.Model()), Points: res.DET}
	} else {
		res, err := eval.VerifyDataset(ds, embs)
		if err != nil {
			return err
		}
		rep = eval.NewReport(&res, nil)
		curve = eval.Curve{Name: string(v.Model()), Points: res.DET()}
	}
	rep.Dataset = ds.Name()
	if f.plot != "" {
		p := eval.DETPlot{Title: fmt.Sprintf("%s %s: %s", rep.Dataset, mode, v.Model()), Curves: []eval.Curve{curve}}
		if !identify {
			p.XLabel, p.YLabel = "False accept rate (FAR)", "False reject rate (FRR)"
		}
		if err := writePlot(f.plot, p); err != nil {
			return err
		}
	}
	if f.json {
		return writeJSON(os.Stdout, rep)
	}
	printReport(v.Model(), rep)
	return nil
}

// runEvalTable scores several engines and variants on several data sets and
// prints one table: the comparison behind the choice of default engine.
func runEvalTable(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("eval table", flag.ContinueOnError)
	var datasets multiFlag
	fs.Var(&datasets, "dataset", "data set folder (repeatable)")
	engineList := fs.String("engines", "faceplugin,dlibonnx,fused,gofacedlib", "comma-separated engines, each with optional +-joined options after a colon: noflip (no mirrored chip), norm (gallery cohort score normalisation), margin=λ (decision score top1 + λ·margin), w=a/b (fusion weights), agg=max|mean|top:K|lse:T (a person's templates into one score), pose=σ (weigh templates by pose closeness, degrees), view=σ (standardise templates against other persons' templates of similar pose, degrees), gate (usability gate on probes); e.g. fused:noflip or fused:agg=lse:0.1+gate")
	galleryFile := fs.String("gallery", "", "enrol this gallery list in every data set instead of identification/gallery.txt")
	views := fs.String("views", "", "comma-separated rig-mugshot galleries for frmdb data sets, each its own rows: "+strings.Join(eval.ViewNames(), ", "))
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
		loaded, err := eval.LoadDataset(dir)
		if err != nil {
			return err
		}
		galleries := []string{""}
		if *views != "" && eval.HasRig(dir) {
			galleries = strings.Split(*views, ",")
		}
		for _, view := range galleries {
			ds := *loaded
			list, label, err := chooseGallery(&ds, *galleryFile, view)
			if err != nil {
				return err
			}
			if list != nil {
				ds.UseGallery(list)
			}
			name := ds.Name() + label
			var curves []eval.Curve
			for i, spec := range specs {
				feats, err := datasetFeatures(ctx, &ds, variants[i].Engine, *modelsFlag, *workers)
				if err != nil {
					return err
				}
				row, ir, err := eval.NewTableRow(&ds, spec.Spec, feats, variants[i], spec.IdentifyOptions(*genuine, eval.FacesOf(feats)))
				if err != nil {
					return err
				}
				row.Dataset = name
				rows = append(rows, row)
				curves = append(curves, eval.Curve{Name: spec.Spec, Points: ir.DET})
			}
			if *plotDir != "" {
				p := eval.DETPlot{Title: name + ": open-set identification", Curves: curves}
				file := strings.ReplaceAll(name, "/", "-") + "-det.png"
				if err := writePlot(filepath.Join(*plotDir, file), p); err != nil {
					return err
				}
			}
		}
	}
	if *asJSON {
		return writeJSON(os.Stdout, rows)
	}
	return eval.WriteTable(os.Stdout, rows)
}

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

// chooseGallery returns the enrolment list that --gallery or --views ask
// for (nil: the data set's own) and the suffix that names it in reports.
func chooseGallery(ds *eval.Dataset, file, views string) ([]eval.Labeled, string, error) {
	switch {
	case file != "" && views != "":
		return nil, "", errors.New("--gallery and --views are exclusive")
	case file != "":
		list, err := ds.LoadGallery(file)
		if err != nil {
			return nil, "", fmt.Errorf("--gallery: %w", err)
		}
		return list, "/" + strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), nil
	case views != "":
		if !eval.HasRig(ds.Dir) {
			return nil, "", fmt.Errorf("--views: %s is not a rig-mugshot (frmdb) data set", ds.Dir)
		}
		list, err := ds.ViewsGallery(strings.TrimSpace(views))
		if err != nil {
			return nil, "", fmt.Errorf("--views: %w", err)
		}
		return list, "/" + strings.TrimSpace(views), nil
	}
	return nil, "", nil
}

func writePlot(path string, p eval.DETPlot) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := p.Render(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// datasetFeatures extracts (or loads from the cache) the features of every
// image the protocols need, drawing a progress bar while it extracts.
func datasetFeatures(ctx context.Context, ds *eval.Dataset, engine, modelFlag string, workers int) (map[string]eval.Features, error) {
	dir, err := modelDir(modelFlag)
	if err != nil {
		return nil, err
	}
	x, err := features.NewExtraction(dir, engine)
	if err != nil {
		return nil, err
	}
	x.Workers = workers
	var bar *progressBar
	x.Progress = func(done, total int) {
		if done == 0 {
			bar = newProgressBar(features.Label(ds, engine), int64(total), false)
		}
		bar.Set(int64(done))
	}
	feats, err := features.Extract(ctx, ds, x)
	bar.Done()
	return feats, err
}

func printReport(model recognizer.ModelID, r eval.Report) {
	fmt.Printf("data set %s, engine %s\n", r.Dataset, model)
	pct := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.2f%%", 100**p)
	}
	num := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.4f", *p)
	}
	if r.AccuracyMean != nil {
		fmt.Printf("  pairs %d in %d folds, no face in %d pairs\n", deref(r.Pairs), deref(r.Folds), deref(r.NoFacePairs))
		fmt.Printf("  accuracy %s ± %s (std over folds)\n", pct(r.AccuracyMean), pct(r.AccuracyStd))
		fmt.Printf("  TAR at FAR 1e-3 %s (threshold %s)\n", pct(r.TARAtFAR1e3), num(r.ThresholdAtFAR))
		for name, s := range r.Subsets {
			fmt.Printf("  subset %s: accuracy %s ± %s\n", name, pct(s.AccuracyMean), pct(s.AccuracyStd))
		}
	}
	if r.Rank1 != nil {
		fmt.Printf("  probes %d genuine, %d impostor; no face in %d\n", deref(r.ProbesGenuine), deref(r.ProbesImpostor), deref(r.NoFaceProbes))
		fmt.Printf("  rank-1 %s\n", pct(r.Rank1))
		fmt.Printf("  FNIR at FPIR 1%%  %s (threshold %s)\n", pct(r.FNIRAtFPIR1pct), num(r.ThresholdAt1pct))
		fmt.Printf("  FNIR at FPIR 10%% %s (threshold %s)\n", pct(r.FNIRAtFPIR10pct), num(r.ThresholdAt10pct))
	}
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
