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
package edge
