// Package edge is the composition root of the facility daemon: it wires
// camera ingest, the recognition engines, tracking, rules, the store and
// the uplink together and owns their lifecycles.
//
// Rules every component here keeps:
//   - Every long-running component is Run(ctx) error; the caller owns the
//     goroutine and Run waits for what it started. No ctx in structs.
//   - Frames may be dropped under load (latest frame wins, drops counted);
//     events, alerts and audit records never are.
//   - Camera trouble is logged and retried, never fatal. Fatal: invalid
//     config, model verification failure, a store that cannot open.
//   - Each recognizer worker owns its engine (and its Mats); engines are
//     not shared between goroutines.
//   - Gallery changes produce a new immutable snapshot swapped in
//     atomically; matching never takes a lock.
//   - Imports flow one way: cmd -> edge -> (camera, recognizer, sync, hw).
//   - Never log per frame: recurring problems are aggregated ("37 in the
//     last minute, last: ...").
//
// # The pipeline
//
//	camera.Camera (one per camera, reconnecting forever)
//	  -> camera.Latest (one frame per camera; a replaced frame is a counted drop;
//	     workers are served the camera that waited longest)
//	  -> N recognizer workers (detect, embed, gallery search, face crop)
//	  -> one sightings goroutine: a track.Tracker per camera and the rules engine
//	  -> store (sighting or alert + its outbox message, one fsynced transaction)
//	  -> uplink.Notify -> uplink drains the outbox to MQTT (QoS 1, marked sent on PUBACK)
//
// Run opens the store (fatal when it cannot; on the very first start, with
// neither database nor key, it makes the key), builds one engine per
// worker (each verifying the model files first; fatal when they fail),
// registers the configured cameras in the store, loads the gallery of the
// engine's model (a biometric read audited as "system"; fatal when a
// template does not decrypt, since a gallery silently missing people is
// worse than none) and the rules (a rule set that does not compile is
// logged and none fires), then starts the stages. The gallery and the rules are rebuilt when the store's audit
// log shows an enrolment, a deletion or a site change (checked every
// Deps.RevisionEvery), and on Daemon.Reload (SIGHUP in edged).
//
// # Events
//
// Every identity decision of a track, and every track that ends unknown
// after enough usable frames, is a sighting; a track too poor to judge is
// only counted. A sighting is stored with its best face crop (encrypted by
// the store) and its outbox message in one transaction, and only then is
// the uplink notified and the rules engine asked; the alerts it raises
// are stored the same way. Nothing is announced that is not on disk.
//
// When the store refuses a write for lack of space (store.ErrStorageFull)
// the event is NOT stored and nothing claims it is: it is logged
// (aggregated), counted (dozor_storage_full_total), kept in a bounded
// in-memory backlog (Deps.BacklogLimit, oldest dropped and counted as lost
// beyond it) and retried in order, and /healthz answers 503 with the
// backlog until the store takes events again. Events the store refuses as
// invalid cannot be stored by retrying; they are logged and counted.
//
// # Crops and the outbox
//
// The store's outbox payloads are not encrypted, so they never hold a face
// crop, and their seq is 0: the store numbers the row in the event's
// transaction, after the payload was composed. The adapter between the
// store and the uplink finishes each message as it is published: it writes
// the row's sequence number into seq and attaches the crop of the sighting
// the message is about (for an alert, the sighting that raised it), read
// from the store with an audited "crop.read" by "system", at most
// uplink.max_crop_bytes. With max_crop_bytes 0 no crop leaves the box;
// sightings are then complete without one, but alerts, whose wire format
// requires the crop, are published without it and the region files them
// with that reason.
//
// Every alert kind of the rules engine has a wire kind (keep_apart names
// the first person in person and the other in others). An alert of a
// kind the wire had no name for would be stored and counted
// (dozor_alerts_local_only_total) but not sent.
//
// # The audit log
//
// An audit shipper owned by the daemon copies new store audit entries into
// the outbox as wire.AuditRecord messages (topic audit), in audit order
// and in batches, checked every Deps.AuditEvery (default 1 s) and once
// more at shutdown; the uplink publishes them with the rest, in outbox
// order. The last shipped audit seq is kept in a file beside the database
// (its path + ".audit-shipped"), replaced atomically after each batch: a
// crash between the two ships a batch again, and the region drops repeats
// by audit_seq. Shipping creates no audit entries, so it never feeds
// itself; the crop reads the uplink makes to publish sightings and alerts
// are entries shipped once like any other.
//
// # Shutdown
//
// When ctx ends: the cameras stop; the workers recognise the frames still
// waiting and exit; the sightings goroutine ends every track (each becomes
// a sighting), makes a last attempt at its backlog and exits; the uplink
// publishes the offline status and disconnects; the HTTP server stops; the
// engines and the store close. Run returns after all of it.
//
// # Camera status on the wire
//
// Camera state is in /healthz, /metrics and the site status's cameras
// up/total, but no retained camera status message is published yet: such
// messages carry no seq, so they cannot pass through the outbox (every row
// there takes a sequence number, and a number the region never sees in a
// payload would look like a lost message), and the uplink publishes
// nothing else but its own site status.
//
// # Health and metrics
//
// /healthz is JSON: store, models, gallery, rules, every camera with its
// state, the outbox depth, the uplink and the unstored backlog; 200 when
// the box stores events, 503 when it does not. Cameras and the broker do
// not make the box unhealthy: a box works offline, and a camera's trouble
// is shown on the camera. /metrics is the Prometheus text format.
package edge
