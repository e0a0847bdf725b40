package enrolcheck

import (
	"fmt"

	"github.com/dozor-edge/dozor/recognizer"
)

// Verdict is what Check found in one decoded photo.
type Verdict struct {
	// Status is StatusEnrolled when the face may be enrolled (Embedding
	// is then set), or the refusal: StatusNoFace, StatusSeveralFaces,
	// StatusPoorQuality or StatusError.
	Status Status
	// Reason explains a refusal.
	Reason string
	// Faces is the number of faces the engine found.
	Faces int
	// Quality is the face's assessment when there was exactly one face.
	Quality recognizer.Quality
	// Embedding is the face's template of the engine's model.
	Embedding recognizer.Embedding
}

// OK reports whether the face passed every check.
func (v Verdict) OK() bool { return v.Status == StatusEnrolled }

// Check runs the face steps of enrolment on a decoded photo: detection,
// exactly one face, the quality policy, and the embedding. A policy left
// zero means recognizer.DefaultEnrolPolicy. Engine failures are a Verdict
// with StatusError, since they concern this photo.
func Check(eng recognizer.Engine, img *recognizer.Image, policy recognizer.QualityPolicy) Verdict {
	if policy == (recognizer.QualityPolicy{}) {
		policy = recognizer.DefaultEnrolPolicy
	}
	faces, err := eng.Detect(img)
	if err != nil {
		return Verdict{Status: StatusError, Reason: fmt.Sprintf("face detection: %v", err)}
	}
	v := Verdict{Faces: len(faces)}
	switch len(faces) {
	case 0:
		v.Status, v.Reason = StatusNoFace, "no face found"
		return v
	case 1:
	default:
		v.Status, v.Reason = StatusSeveralFaces, SeveralFacesReason(len(faces))
		return v
	}
	v.Quality = Assess(faces[0], policy)
	if !v.Quality.Usable() {
		v.Status, v.Reason = StatusPoorQuality, v.Quality.Reason
		return v
	}
	emb, err := Embed(eng, img, faces[0])
	if err != nil {
		v.Status, v.Reason = StatusError, err.Error()
		return v
	}
	v.Status, v.Embedding = StatusEnrolled, emb
	return v
}

// SeveralFacesReason is the reason given for a photo with n > 1 faces.
func SeveralFacesReason(n int) string {
	return fmt.Sprintf("%d faces: a booking photo must show the one person it enrols; crop it to that face", n)
}

// SimilarReason is the reason given for a look-alike that was refused.
func SimilarReason(other string, score, threshold float32) string {
	return fmt.Sprintf("looks like %s (score %.3f, threshold %.3f): a second profile of one person, or a swapped photo",
		other, score, threshold)
}

// SimilarAllowedReason notes a look-alike enrolled because look-alikes
// were allowed.
func SimilarAllowedReason(other string, score, threshold float32) string {
	return fmt.Sprintf("looks like %s (score %.3f, threshold %.3f); enrolled because look-alikes were allowed",
		other, score, threshold)
}

// Assess applies an enrolment policy to a detected face, reusing the
// sharpness the engine measured on the aligned chip. An engine that does
// not assess quality (the go-face engine leaves Quality zero) has no
// sharpness to offer; its faces are gated on size, pose and detector
// score only, rather than refused as blurred for want of a measurement.
func Assess(f recognizer.Face, p recognizer.QualityPolicy) recognizer.Quality {
	if f.Quality == (recognizer.Quality{}) {
		p.MinSharpness = 0
	}
	return recognizer.AssessQuality(f, f.Quality.Sharpness, p)
}

// Embed embeds one face and checks that the engine kept to its model.
func Embed(eng recognizer.Engine, img *recognizer.Image, f recognizer.Face) (recognizer.Embedding, error) {
	embs, err := eng.Embed(img, []recognizer.Face{f})
	if err != nil {
		return recognizer.Embedding{}, fmt.Errorf("embedding: %w", err)
	}
	if len(embs) != 1 || embs[0].Model != eng.Model() || len(embs[0].Vec) != eng.Dim() {
		return recognizer.Embedding{}, fmt.Errorf("embedding: the engine returned %d embeddings, not one %d-component vector of model %q",
			len(embs), eng.Dim(), eng.Model())
	}
	return embs[0], nil
}

// TemplateQuality clamps a quality score to the [0,1] stores accept.
func TemplateQuality(q recognizer.Quality) float32 { return min(1, max(0, q.Score)) }
