package recognizer

import "math"

// MergeFlip averages the embeddings of a chip and of its mirror image
// (test-time augmentation), each normalised first so neither dominates,
// and returns the normalised result. flipped may be nil.
func MergeFlip(plain, flipped []float32) []float32 {
	v := append([]float32(nil), plain...)
	Normalize(v)
	if flipped == nil {
		return v
	}
	f := append([]float32(nil), flipped...)
	Normalize(f)
	for i := range v {
		v[i] += f[i]
	}
	Normalize(v)
	return v
}

// FusionPart is one model's normalised embedding and its fusion weight.
type FusionPart struct {
	Vec    []float32
	Weight float64
}

// Fuse builds one embedding whose cosine similarity is the weighted mean of
// the parts' cosine similarities: score-level fusion folded into a single
// vector, so the gallery, thresholds and search need no special case. Each
// part is scaled by sqrt(weight); the weights should already include
// 1/impostor-std so the models' score ranges are comparable (z-score
// normalisation: the per-model mean shift is a constant and cancels out of
// every ranking and threshold choice).
func Fuse(id ModelID, parts []FusionPart) Embedding {
	n := 0
	var sum float64
	for _, p := range parts {
		n += len(p.Vec)
		sum += p.Weight
	}
	out := make([]float32, 0, n)
	for _, p := range parts {
		s := float32(math.Sqrt(p.Weight / sum))
		for _, x := range p.Vec {
			out = append(out, x*s)
		}
	}
	// Unit parts and weights summing to 1 already give a unit vector;
	// normalising again only removes rounding.
	Normalize(out)
	return Embedding{Model: id, Vec: out}
}
