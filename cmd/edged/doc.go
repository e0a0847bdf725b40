// Command edged is the facility daemon: it reads its configuration, builds
// the logger and the parts that link C libraries (the SQLite store, the
// recognizer engines, the libavcodec decoders, through edge/cgodeps), and
// runs package edge with them until SIGINT or SIGTERM.
//
//	edged -config /etc/dozor/edged.yaml
//	edged -print-example-config > edged.yaml
//	edged -config /etc/dozor/edged.yaml -healthcheck
//
// -healthcheck does not start a daemon: it reads the configuration, asks
// the running one for GET /healthz at its http.listen address (an
// unspecified host such as 0.0.0.0 is reached on the loopback interface),
// and exits 0 when the answer is 200 within 5 seconds, 1 otherwise. It is
// the container HEALTHCHECK (Dockerfile.arm64), where no curl is installed.
//
// SIGHUP rebuilds the gallery and the rules from the store (after an
// enrolment); the daemon also notices such changes by itself.
//
// Exit status: 0 after a clean stop; 1 when the daemon cannot start
// (invalid configuration, a model file failing verification, a store that
// cannot be opened), with the reason on standard error; 2 for misused flags.
// The supervisor (systemd, the container runtime) restarts it.
package main
