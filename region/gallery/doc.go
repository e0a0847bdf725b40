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
// counts. Revisions not acknowledged within ResendAfter are sent again,
// from the one after the revision in force. A site that asks for a resync,
// refuses a revision, or comes online is served at once (Kick, through
// Notice from the ingesters), but never more often than once per
// MinResend, so a site that keeps refusing cannot make the region spin.
// Chunks are flushed to the broker every few, so that a full revision of
// thousands of persons does not overrun the connection's buffers or the
// broker's slow-consumer limit.
//
// The same loop advances transfers whose source site has not confirmed
// the removal within SourceWait (store.AdvanceTransfers).
//
// # Audit
//
// Every biometric read for a revision goes through the store under the
// actor Actor ("gallery-sync"), which audits it.
package gallery
