// Package enrol enrols persons into the region's master gallery from
// uploaded photos, with the same per-photo verdicts as enrolment at a
// facility (recognizer/enrolcheck): enrolled, already_enrolled, bad_image,
// no_face, several_faces, poor_quality, similar, error.
//
// One Enrol call takes one profile and its photos. Each photo is decoded,
// checked for exactly one face of enrolment quality, embedded with the
// region's engine, and compared with every template of that engine's
// model in the master gallery (an audited read under the enrolling actor)
// and with the photos accepted before it in the same call. A photo at or
// above the model's look-alike threshold against another person is
// refused as similar, naming that person and the score, and the look-alike
// is audited ("enrol.similar"). A photo of the person already behind one
// of their templates of the model (same SHA-256) is already_enrolled and
// writes nothing.
//
// The accepted photos are written with their templates and the profile in
// one store transaction (store.Enrol), which issues the revision that
// carries them to the person's facility; a profile none of whose photos
// is accepted is not created. Photos are kept as JPEG, the form revisions
// carry: a JPEG file is stored as it is, any other image is re-encoded.
//
// An Enroller owns one engine and serves one call at a time; it is safe
// for concurrent HTTP handlers, which wait their turn.
package enrol
