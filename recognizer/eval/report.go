package eval

// Report is the JSON summary of an evaluation. Its key names are stable
// because scripts and dashboards read them; a key is present exactly when
// the part of the evaluation it belongs to was run (pointers keep a real 0
// distinct from "not measured").
//
// Rates and accuracies are fractions in [0, 1], not percentages.
type Report struct {
	// Dataset is a free-form name the caller may set.
	Dataset string `json:"dataset,omitempty"`

	// Verification (see VerifyResult). accuracy_std is the population
	// standard deviation over folds, accuracy_stderr the standard error
	// of the mean; threshold is the mean of the per-fold thresholds.
	Pairs          *int     `json:"pairs,omitempty"`
	Folds          *int     `json:"folds,omitempty"`
	AccuracyMean   *float64 `json:"accuracy_mean,omitempty"`
	AccuracyStd    *float64 `json:"accuracy_std,omitempty"`
	AccuracyStdErr *float64 `json:"accuracy_stderr,omitempty"`
	Threshold      *float64 `json:"threshold,omitempty"`
	// TAR at FAR 1e-3 over all pairs; far_resolution is 1/(mismatched
	// pairs), so with fewer than 1,000 of them this is TAR at FAR 0.
	TARAtFAR1e3    *float64 `json:"tar_at_far_1e-3,omitempty"`
	ThresholdAtFAR *float64 `json:"threshold_at_far_1e-3,omitempty"`
	FARResolution  *float64 `json:"far_resolution,omitempty"`
	AUC            *float64 `json:"auc,omitempty"`
	NoFacePairs    *int     `json:"no_face_pairs,omitempty"`
	// Subsets are verification reports for each subset (CFP: "FF", "FP").
	Subsets map[string]Report `json:"subsets,omitempty"`

	// Identification (see IdentifyResult). fpir_resolution is
	// 1/(impostor probes): a target below it is met only at FPIR 0.
	ProbesGenuine      *int     `json:"probes_genuine,omitempty"`
	ProbesImpostor     *int     `json:"probes_impostor,omitempty"`
	NoFaceProbes       *int     `json:"no_face_probes,omitempty"`
	Rank1              *float64 `json:"rank1,omitempty"`
	FNIRAtFPIR1pct     *float64 `json:"fnir_at_fpir_0.01,omitempty"`
	ThresholdAt1pct    *float64 `json:"threshold_at_fpir_0.01,omitempty"`
	FNIRAtFPIR10pct    *float64 `json:"fnir_at_fpir_0.1,omitempty"`
	ThresholdAt10pct   *float64 `json:"threshold_at_fpir_0.1,omitempty"`
	FPIRResolution     *float64 `json:"fpir_resolution,omitempty"`
	NoFaceProbesDetail *NoFace  `json:"no_face_probes_by_kind,omitempty"`
	// With a usability gate: the fraction of probes it passed, and the
	// identification report over those probes alone.
	UsableFraction *float64 `json:"usable_fraction,omitempty"`
	OverUsable     *Report  `json:"over_usable,omitempty"`

	// NoFace is the number of evaluated items whose face was not found:
	// pairs plus probes, whichever parts are present. no_face_pairs and
	// no_face_probes break it down.
	NoFace *int `json:"no_face,omitempty"`
}

// NoFace splits the probes without a face by kind.
type NoFace struct {
	Genuine  int `json:"genuine"`
	Impostor int `json:"impostor"`
}

// NewReport builds a report from whichever results are available; either
// may be nil.
func NewReport(v *VerifyResult, id *IdentifyResult) Report {
	var r Report
	noFace, present := 0, false
	if v != nil && v.Pairs > 0 {
		r = verifyReport(*v)
		noFace += v.NoFacePairs
		present = true
	}
	if id != nil && id.Genuine+id.Impostor > 0 {
		r.ProbesGenuine = ptr(id.Genuine)
		r.ProbesImpostor = ptr(id.Impostor)
		n := id.NoFaceGenuine + id.NoFaceImpostor
		r.NoFaceProbes = ptr(n)
		r.NoFaceProbesDetail = &NoFace{Genuine: id.NoFaceGenuine, Impostor: id.NoFaceImpostor}
		r.Rank1 = ptr(id.Rank1)
		r.FNIRAtFPIR1pct = ptr(id.AtFPIR1pct.FNIR)
		r.ThresholdAt1pct = ptr(id.AtFPIR1pct.Threshold)
		r.FNIRAtFPIR10pct = ptr(id.AtFPIR10pct.FNIR)
		r.ThresholdAt10pct = ptr(id.AtFPIR10pct.Threshold)
		r.FPIRResolution = ptr(id.AtFPIR1pct.Resolution)
		noFace += n
		present = true
		if id.Gated {
			r.UsableFraction = ptr(float64(id.UsableProbes) / float64(id.Genuine+id.Impostor))
			if id.OverUsable != nil {
				u := NewReport(nil, id.OverUsable)
				r.OverUsable = &u
			}
		}
	}
	if present {
		r.NoFace = ptr(noFace)
	}
	return r
}

func verifyReport(v VerifyResult) Report {
	r := Report{
		Pairs:          ptr(v.Pairs),
		Folds:          ptr(v.Folds),
		AccuracyMean:   ptr(v.AccuracyMean),
		AccuracyStd:    ptr(v.AccuracyStd),
		AccuracyStdErr: ptr(v.AccuracyStdErr),
		Threshold:      ptr(v.ThresholdMean),
		TARAtFAR1e3:    ptr(v.TARAtFAR1e3),
		ThresholdAtFAR: ptr(v.AtFAR1e3.Threshold),
		FARResolution:  ptr(v.AtFAR1e3.Resolution),
		AUC:            ptr(v.AUC),
		NoFacePairs:    ptr(v.NoFacePairs),
		NoFace:         ptr(v.NoFacePairs),
	}
	if len(v.Subsets) > 0 {
		r.Subsets = make(map[string]Report, len(v.Subsets))
		for name, sv := range v.Subsets {
			r.Subsets[name] = verifyReport(sv)
		}
	}
	return r
}

func ptr[T any](v T) *T { return &v }
