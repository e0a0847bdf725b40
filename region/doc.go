// Package region is the composition root of the region daemon (regiond):
// it wires the NATS node the facilities publish to (region/broker), the
// region's store (region/store) and the ingesters that move every site's
// events from the JetStream stream into the store exactly once
// (region/ingest), serves the dashboard (region/dashboard, fed by the
// ingesters as they store) beside /healthz and /metrics, and owns their
// lifecycles.
//
// Rules every component here keeps:
//   - The store's SQLite binding links a C library, so the store comes in
//     through Deps.OpenStore, built by the caller (cmd/regiond, through
//     region/cgodeps): this package builds with CGO_ENABLED=0, and its
//     tests that run the real store carry the cgo build tag.
//   - Run(ctx) starts everything, returns once ctx ends and what it
//     started has stopped, and stops in order: the ingesters (each acks
//     what it committed), the HTTP server, the NATS connection, the
//     embedded broker, the store last.
//   - Fatal, returned as *FatalError: an invalid configuration or sites
//     file, a broker that cannot start or be reached, a stream that
//     cannot be set up, a store that cannot open, an HTTP port that cannot
//     be bound. Everything after the start (a store error on one message,
//     a lost connection) is logged and retried by the component that met
//     it; a message is acknowledged to JetStream only after the store
//     committed it, so nothing is lost.
//   - Imports flow one way: cmd/regiond -> region -> region/{broker, store,
//     ingest, dashboard, config} -> sync/wire; nothing under region imports
//     edge (internal/layers checks it), and what the dashboard shares with
//     the guard monitor lives in internal/webui and internal/webauth.
package region
