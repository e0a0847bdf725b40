// Package edge is the composition root of the facility daemon: it wires
// camera ingest, the recognition engines, tracking, rules, the store and
// the uplink together and owns their lifecycles.
//
// Rules every component here keeps:
//   - The collaborators that link C libraries (the SQLite store, the
//     recognizer engines, the video decoders) come in through Deps, built
//     by the caller (cmd/edged, through edge/cgodeps): this package builds
//     and tests with CGO_ENABLED=0, and its tests that run the real parts
//     carry the cgo build tag.
//   - Every long-running component runs in a method that takes ctx:
//     Run(ctx) error for those that can fail (the daemon, the cameras, the
//     uplink), run(ctx) for the daemon's own loops, which log and retry
//     instead. The caller owns the goroutine, and the method returns only
//     after what it started has stopped. No ctx in structs.
//   - Frames may be dropped under load (latest frame wins, drops counted);
//     events, alerts and audit records never are.
//   - Camera trouble is logged and retried, never fatal. Fatal: invalid
//     config, model verification failure, a store that cannot open.
//   - Each recognizer worker owns its engine (and its Mats); engines are
//     not shared between goroutines.
//   - Gallery changes produce a new immutable snapshot swapped in
//     atomically; matching never takes a lock.
//   - Imports flow one way: cmd -> edge -> (camera, recognizer, sync, hw);
//     internal/layers' test fails on a wrong arrow.
//   - Never log per frame: recurring problems are aggregated ("37 in the
//     last minute, last: ...").
//
// # The pipeline
//
//	camera.Camera (one per camera, reconnecting forever)
//	  -> camera.Latest (one frame per camera; a replaced frame is a counted drop;
//	     a worker is served the waiting camera served longest ago)
//	  -> N recognizer workers (Engine.Recognize: detect and embed with the
//	     frame handed to the engine once; gallery search; the face's pixels
//	     cut for the tracker)
//	  -> one sightings goroutine: a track.Tracker per camera and the rules
//	     engine; the best face of a track is JPEG-encoded once, when its
//	     sighting is emitted
//	  -> store (sighting or alert + its outbox message, one fsynced transaction)
//	  -> uplink.Notify -> uplink drains the outbox to MQTT (QoS 1, marked sent on PUBACK)
//
// Run is build, start and stop. build opens the store through
// Deps.OpenStore (fatal when it cannot; edge/cgodeps makes the key on the
// very first start, with neither database nor key), builds one engine per
// worker through Deps.NewEngine (each verifying the model files first;
// fatal when they fail),
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
// Each message is composed once, in the transaction that stores its
// event: the sightings loop checks the wire payload (a wire.Sighting or
// wire.Alert, final but for its seq) and hands the store a store.Compose,
// which the store calls with the seq it assigns; the payload encoded there
// is the one published. A payload the wire would refuse is found before:
// the event is then stored without a message, and logged.
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
// A sighting's message carries its best face crop, and an alert's the
// crop of the sighting that raised it, when the crop is at most
// uplink.max_crop_bytes and wire.MaxCropLen. With max_crop_bytes 0 no crop
// leaves the box; sightings are then complete without one, but alerts,
// whose wire format requires the crop, are published without it and the
// region files them with that reason.
//
// A payload that carries a crop is biometric: the store keeps it sealed
// like the crop itself, and records the crop's release to the region
// ("crop.release" by "system", naming the sighting and the message's seq)
// in the transaction that stores the message, once however often the
// message is resent. Publishing only reads: the adapter between the store
// and the uplink hands on the rows Pending returns (opened) as they are,
// and writes nothing; the uplink's MarkSent after the broker's
// acknowledgement is the one write of the path.
//
// Every alert kind of the rules engine has a wire kind (keep_apart names
// the first person in person and the other in others). An alert of a
// kind the wire had no name for would be stored and counted
// (dozor_alerts_local_only_total) but not sent.
//
// # The audit log
//
// Every entry the store appends to its audit log gets an outbox message
// in the same transaction: a wire.AuditRecord on the site's audit topic,
// numbered by the outbox like every other message, so the region receives
// the log in audit order, among the events it records. The store knows
// the site from its options (the configuration's site.region and
// site.id). An entry the wire would refuse (a detail too long, say) is
// enqueued all the same and logged, for the region to quarantine with its
// reason rather than find a hole in the chain.
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
// Each camera's health (streaming, stalled, down with its reason, its
// rates) goes to the region as a retained wire.CameraStatus when it
// changes, and again every few minutes with fresh rates, outside the
// outbox: it has no sequence number and only the latest matters, so the
// uplink keeps the latest per camera and sends it again after every
// reconnect. The site status carries cameras up/total.
//
// # The guard-post monitor
//
// The HTTP port also serves the monitor (edge/monitor; docs/monitor.md),
// built over the daemon's own parts and never on the pipeline's path:
//
//   - each camera's access units go, before decoding, to its camera/live
//     hub, which repackages H.264 for browsers only while someone watches
//     and drops for a viewer that falls behind;
//   - the workers keep a copy of each camera's latest frame twice a
//     second (snapshots), JPEG-encoded only when a browser asks: the
//     tiles of H.265 cameras, the zone editor, enrolment from a camera;
//   - the sightings loop tells a watcher (never blocking) of every
//     sighting and alert once it is on disk, and of the tracks each frame
//     showed; the daemon publishes both on the monitor's hub, whose slow
//     subscribers lose events rather than hold anything up;
//   - a guard's decision is stored with its audit entry and its
//     alert/decision message in one transaction, then the uplink is woken;
//   - enrolment and search by photo run on an engine of their own, built
//     on first use, so a supervisor never takes a worker from the cameras.
//
// # The embedding budget
//
// Embedding a face (both models of a fused engine, and the mirror image)
// is the dearest step of recognition, so a worker spends it only where it
// can change a decision (track.Budget). After every frame the sightings
// loop hands the workers a copy of the camera's live tracks; before a
// face is embedded, the worker pairs it by box with the one track it
// continues (track.Match) and asks the budget. A new face, a face of an
// undecided track or of one decided by a narrow margin is embedded every
// frame, so first decisions are made from the same evidence as without a
// budget; a track decided with a clear margin, or plainly nobody enrolled
// (a stranger whose best match has stayed well below the threshold over
// the frames a decision needs), is embedded again only for a better face
// or when its refresh is due: every 5 observations, up to every 25 for a
// track followed long. dozor_recognizer_embeddings_total
// counts the faces embedded and skipped, by reason. Deps.Budget tunes it.
// When a frame was matched against a newer gallery than the camera's
// frames before it, the sightings loop has the tracker judge its
// undecided tracks afresh (track.Tracker.GalleryChanged): a person
// enrolled while in view is named from the faces after the enrolment.
//
// # Engines lent
//
// Each worker owns an engine and holds it while it recognises a frame.
// A worker with more than one face of a frame to embed borrows an idle
// worker's engine when there is one, and hands it each face while it is
// free, so the faces of a crowded frame are embedded on two engines at
// once: a box with cores to spare names people sooner. Under load no
// engine is idle and nothing is lent; an owner that gets a frame while
// its engine is lent waits for the borrower's current faces.
// dozor_recognizer_embeddings_lent_total counts the faces embedded so.
//
// # Capacity
//
// With more cameras than the workers can carry, camera.Latest drops
// frames evenly: a worker takes, of the cameras with a frame waiting, the
// one served longest ago, so each camera keeps a share of the recognised
// frames. When more
// than a tenth of the frames sampled over the last minute were dropped,
// /healthz shows capacity.over and a warning, and dozor_over_capacity is
// 1. Over capacity is a warning, not a failure: the box still names the
// people every camera sees and stores every event, from fewer frames,
// while a 503 would have a supervisor restart or replace a working box.
//
// A camera's region, drawn on its picture, limits recognition to the
// faces whose centre lies inside it; the regions and the names drawn
// over the video are reloaded with the rules.
//
// # Health and metrics
//
// /healthz is JSON: store, models, gallery, rules, every camera with its
// state, the outbox depth, the uplink, the capacity (warnings) and the
// unstored backlog; 200 when
// the box stores events, 503 when it does not. Cameras and the broker do
// not make the box unhealthy: a box works offline, and a camera's trouble
// is shown on the camera. /metrics is served by the Prometheus client
// library from the daemon's own registry: the dozor_* families and the Go
// runtime and process collectors (go_*, process_*).
package edge
