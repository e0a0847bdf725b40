// Package enrolcheck decides whether a photo may be enrolled, the same way
// at a facility and at the region.
//
// A photo is enrolled only when the engine finds exactly one face in it
// (none is StatusNoFace; more than one is StatusSeveralFaces, because a
// second face makes it ambiguous whose profile the template joins), that
// face passes the enrolment quality policy (else StatusPoorQuality with
// the policy's reason), and its embedding does not look like another
// person already in the gallery of the engine's model at or above the
// model's similarity threshold (StatusSimilar, naming that person and the
// score). Check runs the face steps; Index answers the look-alike
// question against a gallery snapshot plus the templates enrolled since.
//
// The package holds no store: the callers (edge/enroll at a facility,
// region/enrol at the region) look up idempotence, write photos and
// templates, and audit, each through its own store. Statuses and reasons
// are shared so that an operator reads the same verdicts in both places.
package enrolcheck
