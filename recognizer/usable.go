package recognizer

import (
	"fmt"
	"math"
	"strings"
)

// Usability is the verdict of the usability gate on one face: whether it
// can be identified at all, decided before any matching. A face the gate
// rejects is neither a stranger nor anyone else; it is unknown.
type Usability struct {
	// Usable is true when the face passed every check of the policy.
	Usable bool
	// Reason says, for people, why the face cannot be identified; empty
	// when it is usable.
	Reason string
	// Score in [0,1] ranks faces for identification (see Quality.Score),
	// usable or not.
	Score float32
}

// UsablePolicy holds the checks of the usability gate. Its QualityPolicy
// gates the detector score, the face size, the sharpness of the aligned
// chip and the head pose estimated from the landmarks; the fields below
// reject landmarks that do not describe a face seen from the front half:
// the back of a head or an extreme profile, where the detector still
// places five points but the eyes collapse together.
type UsablePolicy struct {
	QualityPolicy
	// MinEyeSpan is the least distance between the eyes as a fraction of
	// the box width. Frontal faces span about 0.4 of their box; the
	// eyes of a profile or of the back of a head sit nearly on top of
	// each other. 0 disables the check.
	MinEyeSpan float32
}

// DefaultUsablePolicy is the gate used for live identification and for
// evaluation. It was calibrated with TestUsableCalibration on the default
// engine's matches against the identification galleries of frmdb-dev (its
// surveillance crops, and separately all its mugshots against the frontal
// gallery), cfp-dev, celeba-dev and lfw-dev, keeping the limits that drop
// the most wrong top matches for the fewest right ones. What it dropped
// there (right matches / wrong top matches):
//
//	frmdb-dev surveillance crops  8.9% / 59.2%
//	frmdb-dev mugshots at ±135°   all / 93.8% (the back of the head)
//	frmdb-dev mugshots at ±90°   32.4% / 67.2%
//	frmdb-dev other mugshots      2.4% / 78.5%
//	cfp-dev                       0.5% / 10.6%
//	celeba-dev                    0.0% / 15.4%
//	lfw-dev                       0.0% / none wrong
//
// The backs of heads are caught by the detector score: YuNet places a
// plausible frontal set of landmarks on them, with low confidence. The
// yaw limit is off (90°) because the landmark estimate saturates at ±90°
// and already reads many 45° turns as 90°, which the matcher still gets
// right; the eye span catches the profiles instead.
var DefaultUsablePolicy = UsablePolicy{
	QualityPolicy: QualityPolicy{
		MinDetScore: 0.75, MinInterOcular: 10, MinSharpness: 15, MaxYaw: 90, MaxPitch: 60, MaxRoll: 45,
	},
	MinEyeSpan: 0.12,
}

// Check runs the gate on face f. sharpness is LaplacianVariance of the
// face's aligned grey chip, as the engine measures it for AssessQuality
// (Face.Quality.Sharpness). It depends on nothing else, so the daemon and
// the evaluation judge a face alike.
func (p UsablePolicy) Check(f Face, sharpness float32) Usability {
	q := AssessQuality(f, sharpness, p.QualityPolicy)
	var reasons []string
	if q.Reason != "" {
		reasons = append(reasons, q.Reason)
	}
	if !finiteFace(f) {
		reasons = append(reasons, "no usable landmarks")
	} else if p.MinEyeSpan > 0 && f.Box.W > 0 {
		if span := q.InterOcular / f.Box.W; span < p.MinEyeSpan {
			reasons = append(reasons, fmt.Sprintf("eyes %.2f of the face width apart, need %.2f: profile or back of the head", span, p.MinEyeSpan))
		}
	}
	u := Usability{Reason: strings.Join(reasons, "; "), Score: q.Score}
	if !(u.Score >= 0) { // NaN from non-finite landmarks
		u.Score = 0
	}
	u.Usable = u.Reason == ""
	return u
}

// finiteFace reports whether the box, landmarks and score of f are all
// finite numbers.
func finiteFace(f Face) bool {
	xs := []float32{f.Box.X, f.Box.Y, f.Box.W, f.Box.H, f.Score}
	for _, p := range f.Landmarks {
		xs = append(xs, p.X, p.Y)
	}
	for _, x := range xs {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
