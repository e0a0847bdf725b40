// Package gallery sends the master gallery to the sites: each site's
// numbered revisions, built from the region's store, signed with the
// region's Ed25519 key (sync/gallerysync), split into chunks and published
// on the site's revision topic over core NATS, which the broker's MQTT
// listener delivers to the site's QoS 1 subscription.
//
// # What is sent
//
// The store issues a revision for a site in the same transaction as every
// change that alters what the site should hold, and records which persons
// each revision upserts and removes (RevisionOps). The Publisher turns
// the revisions after the one a site runs (its revision in force, from its
// last acknowledgement) into gallerysync.Revisions: an upserted person
// carries the profile, photos and templates the store holds now, so a
// revision sent late carries the newest content; a person the store no
// longer holds is a removal. A site that runs no revision yet, or that is
// more than MaxDeltas revisions behind, gets one full revision at the
// number last issued: every person assigned to it, which replaces what it
// holds and costs less than the deltas it missed.
//
// # Delivery
//
// Core NATS gives no acknowledgement, and a site may be offline; the
// site's acknowledgement (gallery/ack, ingested into the store) is what
// counts. Every send is everything after the revision in force. A site in
// step, running all it was sent, gets a new revision as soon as it is
// issued. A site that has not acknowledged what it was sent gets nothing
// more until ResendAfter has passed since the last send: then everything
// after its revision in force, in one send (a full revision supersedes one
// still on its way). So a site that never answers costs one send per
// ResendAfter, however often the gallery changes meanwhile. A site that
// asks for a resync, refuses a revision, or comes online (its first online
// status, not the ones it repeats) is served at once (Kick, through Notice
// from the ingesters), unless a send that began after the ask answers it,
// and never more often than once per MinResend, so a site that keeps
// refusing cannot make the region spin.
// Chunks are flushed to the broker every few, so that a full revision of
// thousands of persons does not overrun the connection's buffers or the
// broker's slow-consumer limit.
//
// The same loop advances transfers whose source site has not confirmed
// the removal within SourceWait (store.AdvanceTransfers).
//
// # Audit
//
// The biometrics of a revision are read in one bulk read of the store
// (SiteBiometrics) under the actor Actor ("gallery-sync"): one audit
// record names the site, the revision and the counts. The revision shares
// the read photos' memory, and lets go of them once it is encoded into
// chunks, so that a full revision of thousands of persons is held about
// once at a time.
package gallery
