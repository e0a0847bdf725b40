package enrolcheck

import "github.com/dozor-edge/dozor/recognizer"

// defaultThresholds hold, per model, the similarity at or above which a
// new photo is taken to show a person already enrolled. A photo the daemon
// would name as someone else must not be enrolled silently, so each value
// is an operating point of the daemon: the open-set threshold at a false
// positive identification rate of 1% on cfp-dev, the largest development
// set (`edgectl eval identify --dataset cfp-dev --engine E`: fused 0.798,
// faceplugin 0.470, dlibonnx 0.950, gofacedlib 0.947). The fused value is
// also the daemon's default recognizer.threshold.
//
// The keys are model ids, not engine names, because a score means
// something only within one model's vector space: a model id missing here
// (new weights, another fusion) gets no guessed threshold.
var defaultThresholds = map[recognizer.ModelID]float32{
	"fused(faceplugin+dlibonnx)/flip": 0.80,
	"faceplugin/flip":                 0.47,
	"dlibonnx/flip":                   0.95,
	"dlib-resnet-v1/gofacedlib":       0.95,
}

// DefaultThreshold returns the look-alike threshold measured for a model.
func DefaultThreshold(m recognizer.ModelID) (float32, bool) {
	t, ok := defaultThresholds[m]
	return t, ok
}

// CheckThreshold reports whether t can be a cosine-similarity threshold.
func CheckThreshold(t float32) bool { return t > -1 && t <= 1 }
