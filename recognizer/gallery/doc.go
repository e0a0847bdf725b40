// Package gallery holds the enrolled face templates of one embedding model
// and answers "who is this?" for a query embedding.
//
// A Snapshot is immutable: it is built once by New from a list of templates
// and then searched concurrently without locks. Enrolment changes build a
// new Snapshot and publish it through a Holder, so searches in flight keep
// the snapshot they started with.
//
// # Scores
//
// The similarity of a query q and a template t is their cosine similarity,
// computed as the dot product of the unit-normalised float32 vectors
// accumulated in float64 in index order. That definition is exact and
// reproducible, so Search returns bit for bit the same persons, templates and
// scores as a brute-force float64 scan of every template. A person with one
// template scores that template; a person with several scores an
// Aggregation of them (by default a log-mean-exp, DefaultAggregation), which
// lies between their mean and their best and so, unlike the best alone,
// does not rise with every extra template an impostor could happen to
// resemble. Ties go to the smaller PersonID. Match.TemplateID names the
// person's best template (the one enrolled first among equals).
// SearchPose can also weigh a person's templates by how close their pose
// is to the query's (Options.PoseSigma), and can standardise the
// templates of a person with several of them against other persons'
// templates seen from a similar angle (Options.ViewCohortSigma), so that a
// profile mugshot that every side-on face resembles counts only for how
// much the query stands out among profiles.
//
// With Options.ScoreNorm each template t also gets the mean μ_t and standard
// deviation σ_t of its similarity to a cohort of other persons' templates,
// and persons are ranked by the normalised score (s − μ_t)/σ_t instead. This
// evens out templates that are similar to everybody (poor images, unusual
// capture conditions), so one threshold suits the whole gallery.
//
// # How a search stays fast and exact
//
// Memory traffic bounds a scan: 100,000 templates of 512 float32 are 205 MB
// per query. Each template is therefore also kept as int8 codes with a
// per-template scale, a quarter of the bytes, and every query first scores
// all templates with an integer dot kernel: AVX2 assembly on amd64 CPUs
// that have it, NEON (ARMv8.0 Advanced SIMD) assembly on arm64, and Go
// elsewhere or when built with the purego tag. Integer sums are exact, so
// every kernel returns the same scores bit for bit. For template t and
// query q with quantised forms t̂ and q̂,
//
//	|t·q − t̂·q̂| ≤ ‖t − t̂‖·‖q‖ + ‖t̂‖·‖q − q̂‖,
//
// and both template norms are precomputed, so each approximate score comes
// with a guaranteed interval. The scan keeps the k best lower bounds of
// distinct persons; only templates whose upper bound reaches the k-th of them
// can belong to a top-k person, and only those are rescored exactly. The
// score normalisation is an affine map per template, so it maps the interval
// along with the score. With 100,000 templates and k = 5, about twenty
// templates per query are rescored. An aggregation rises with each of its
// scores, so aggregating the ends of a person's template intervals bounds
// the person's score in the same way; only persons whose bound reaches the
// k-th best are rescored.
package gallery
