// Package e2e holds the end-to-end tests that run a facility's daemon
// (edge) and the region's daemon (region) together over loopback, with
// the real models, simulated cameras streaming the labelled clip, the
// embedded NATS node and SQLite stores. It is the one place that may
// import both sides of the wire; it has no code outside its tests.
package e2e
