// Package enroll puts people into the facility's gallery from booking
// photos, and rebuilds the gallery when the recognition model changes.
//
// # Enrolment
//
// An Enroller takes one photo at a time (Item) for one profile and gives
// every photo a Result. A photo is enrolled only when
//
//   - it decodes (else StatusBadImage, with the decoder's reason);
//   - the engine finds exactly one face in it: none is StatusNoFace, and
//     more than one is StatusSeveralFaces, because at a booking desk a
//     second face makes it ambiguous whose profile the template joins;
//   - that face passes the enrolment quality policy
//     (recognizer.DefaultEnrolPolicy unless configured), else
//     StatusPoorQuality with the policy's reason ("face too small: 22 px
//     between the eyes, need 40");
//   - it does not look like another person already in the gallery of the
//     engine's model, at or above the similarity threshold. Such a photo
//     is StatusSimilar, naming that person and the score: either the
//     person already has a profile under another id, or the photo was
//     swapped. It is enrolled anyway only with Options.AllowSimilar, and
//     the Result still names the look-alike.
//
// The face steps, the look-alike search and the statuses and reasons come
// from recognizer/enrolcheck, which enrolment at the region shares, so an
// operator reads the same verdicts in both places.
//
// An accepted photo is stored as the person's enrolment photo (the store
// encrypts it) and its embedding as a template of the engine's model, with
// the face quality, the source ("booking photo") and the actor. A profile
// that does not exist yet is created then, and not before: a person none
// of whose photos is usable gets no empty profile.
//
// The similarity check searches a gallery snapshot of the engine's model
// built once from the store, plus the templates enrolled since, so two
// photos of one face under two ids in one import are caught as well.
// Persons without a template of that model (enrolled under another model
// and not yet re-embedded) cannot be compared; New counts them and the
// count is reported, so that nobody mistakes a partial check for a full
// one.
//
// # Idempotence
//
// Re-running an import must not duplicate templates. Before any decoding,
// a photo's SHA-256 is looked up among the hashes the store keeps of its
// enrolment photos (a metadata query that decrypts nothing); a stored
// photo of the same person with that hash that is behind one of the
// person's templates of the model is StatusAlreadyEnrolled and writes
// nothing. So is a photo given twice in one run, since the first copy is
// stored before the second is looked up.
//
// # Re-embedding
//
// Templates of different models live in different vector spaces and are
// never compared or mixed: every gallery is built from one model's
// templates. When the engine changes, Reembed decodes the stored
// enrolment photos again and adds templates of the new model, leaving the
// templates of every other model as they are. It skips persons who
// already have a template of the new model, so an interrupted run is
// resumed by running it again, and it stops between persons when its
// context is cancelled.
//
// Reembed (and List) learn which photos and templates exist from the
// store's metadata queries (Photos, TemplateCounts, TemplateModels),
// which read no image and no vector, so listing costs no audited
// biometric read and works on a store opened without its key. Two copies
// of one photo are recognised by their stored hash before either is
// decrypted.
//
// # Audit
//
// Every write and every biometric read goes through the store, which
// audits it under the actor in the same transaction. On top of those the
// package records what the store cannot see: each look-alike found
// ("enrol.similar", naming both persons and the score) and a summary of
// each import or re-embedding run ("enrol.batch", "gallery.reembed").
package enroll
