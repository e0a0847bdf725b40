// Package eval measures how well a face-recognition pipeline does on the
// project's labelled development sets, without depending on the pipeline
// itself: callers embed the images, compute scores and hand the numbers in.
//
// It has four parts:
//
//   - Dataset loading (LoadDataset, ParsePairs, ParseList). A dataset
//     directory holds images/<Name>/<Name>_NNNN.jpg, an LFW-format pairs.txt
//     and, optionally, identification/ lists of "<identity>\t<path>" lines.
//     Every referenced image is checked to exist at load time so that a bad
//     file is reported before hours of embedding, not after.
//   - 1:1 verification (Verify): the standard LFW protocol, where each
//     fold's threshold is chosen on the other folds, plus TAR at a fixed FAR
//     and the ROC AUC over all pairs.
//   - Open-set 1:N identification (Identify, IdentifyWith): rank-1 accuracy,
//     FNIR at a fixed FPIR and the threshold that reaches it, and the DET
//     curve. A probe is a hit only when its top candidate is the right person
//     and the decision statistic clears the threshold, as in NIST FRVT.
//   - Reporting: Report is the JSON summary with stable key names, and
//     PlotDET draws DET curves as a PNG that a person can read.
//
// Conventions used throughout: scores are similarities (higher means more
// alike); NaN stands for "no face was found", which is never accepted at any
// threshold; a probe or pair is accepted when its score is >= the threshold.
// Functions return an error instead of NaN results when an input makes a
// metric undefined (no pairs, only one class, no impostors, ...).
package eval
