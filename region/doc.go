// Package region is the composition root of the region daemon (regiond):
// it wires the NATS node the facilities publish to (region/broker), the
// region's store (region/store) and the ingesters that move every site's
// events from the JetStream stream into the store exactly once
// (region/ingest), serves the dashboard (region/dashboard, fed by the
// ingesters as they store) beside /healthz and /metrics, and owns their
// lifecycles.
//
// It also runs the master gallery's distribution: the gallery publisher
// (region/gallery) sends each site its signed revisions, kicked by the
// ingesters when a site acknowledges, asks for a resync or comes online,
// and signs with the key in gallery.signing_key_file, made on the first
// start (logged with its public key, which every site configures). When
// Deps.NewEngine builds a recognition engine from models.*, enrolment at
// the region (region/enrol) is on and the dashboard's enrolment page uses
// it; without the model files it is off and the rest runs.
//
// Rules every component here keeps:
//   - The store's SQLite binding and the recognition engine link C
//     libraries, so they come in through Deps.OpenStore, Deps.NewEngine and
//     Deps.Decode, built by the caller (cmd/regiond, through region/cgodeps):
//     this package builds with CGO_ENABLED=0, and its tests that run the
//     real store carry the cgo build tag.
//   - Run(ctx) starts everything, returns once ctx ends and what it
//     started has stopped, and stops in order: the ingesters (each acks
//     what it committed) and the gallery publisher, the HTTP server, the
//     NATS connection, the embedded broker, the enrolment engine, the
//     store last.
//   - Fatal, returned as *FatalError: an invalid configuration or sites
//     file, a broker that cannot start or be reached, a stream that
//     cannot be set up, a store that cannot open, an HTTP port that cannot
//     be bound, a gallery signing key that exists but cannot be used.
//     Everything after the start (a store error on one message,
//     a lost connection) is logged and retried by the component that met
//     it; a message is acknowledged to JetStream only after the store
//     committed it, so nothing is lost.
//   - Imports flow one way: cmd/regiond -> region -> region/{broker, store,
//     ingest, dashboard, config, gallery, enrol} -> sync/{wire, gallerysync}
//     and recognizer/enrolcheck; nothing under region imports
//     edge (internal/layers checks it), and what the dashboard shares with
//     the guard monitor lives in internal/webui and internal/webauth.
package region
