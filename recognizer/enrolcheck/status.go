package enrolcheck

// Status is the outcome for one photo.
type Status string

const (
	// StatusEnrolled: the photo and a template of it were stored.
	StatusEnrolled Status = "enrolled"
	// StatusAlreadyEnrolled: the same photo (by SHA-256) is already
	// behind a template of this person and model; nothing was written.
	StatusAlreadyEnrolled Status = "already_enrolled"
	// StatusBadImage: the file could not be read or decoded.
	StatusBadImage Status = "bad_image"
	// StatusNoFace: the engine found no face.
	StatusNoFace Status = "no_face"
	// StatusSeveralFaces: more than one face; refused as ambiguous.
	StatusSeveralFaces Status = "several_faces"
	// StatusPoorQuality: the face fails the enrolment quality policy;
	// the reason says why.
	StatusPoorQuality Status = "poor_quality"
	// StatusSimilar: the face looks like another enrolled person at or
	// above the threshold; not enrolled.
	StatusSimilar Status = "similar"
	// StatusError: the store refused the profile or the engine failed on
	// this photo; the reason has the error.
	StatusError Status = "error"
)

// Statuses lists every status in the order reports show them.
var Statuses = []Status{StatusEnrolled, StatusAlreadyEnrolled, StatusBadImage, StatusNoFace,
	StatusSeveralFaces, StatusPoorQuality, StatusSimilar, StatusError}

// Failed reports whether the photo ended without a template.
func (s Status) Failed() bool { return s != StatusEnrolled && s != StatusAlreadyEnrolled }

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}
