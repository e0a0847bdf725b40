// Package eval measures how well a face-recognition pipeline does on the
// project's labelled development sets, without linking the pipeline
// itself: callers hand in an Extractor (image file to raw per-model
// vectors) and a Variant (raw vectors to one engine configuration's
// embedding), or the scores themselves.
//
// It has these parts:
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
//     The gallery may enrol several images per person: a gallery list
//     (LoadGallery) or, for a rotating-rig mugshot set such as frmdb-dev, a
//     named set of views (Views, ViewsGallery). IdentifyOptions choose how a
//     person's templates are aggregated, whether they are weighed by pose,
//     which gallery photos pass the enrolment check, and the usability gate
//     on probes, whose result also covers the usable probes alone.
//   - Features (Extraction, FeatureCache): every image's labelled face
//     (MainFace) and raw vectors, extracted in parallel and cached on disk
//     under a key naming the extractor and its model files, so that each
//     engine variant is scored in seconds from one pass over the photos.
//   - Running the protocols over a data set (Embeddings, VerifyDataset,
//     IdentifyDataset, which enrols the gallery in a gallery.Snapshot and
//     searches it with every probe), calibration of score distributions
//     (Separation) and the comparison table of engine configurations
//     (EngineSpec, TableRow).
//   - Reporting: Report is the JSON summary with stable key names, and
//     PlotDET draws DET curves as a PNG that a person can read.
//
// Conventions used throughout: scores are similarities (higher means more
// alike); NaN stands for "no face was found", which is never accepted at any
// threshold; a probe or pair is accepted when its score is >= the threshold.
// Functions return an error instead of NaN results when an input makes a
// metric undefined (no pairs, only one class, no impostors, ...).
package eval
