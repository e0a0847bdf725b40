// Package mosquitto runs a private Mosquitto MQTT broker on 127.0.0.1 for
// the end-to-end tests and for edgectl's latency bench.
//
// Start writes a configuration file and a log file into a directory the
// caller owns, starts the broker on a free port (or a given one) and
// waits until every listener accepts connections, which the broker itself
// reports through the systemd readiness notification (Debian's build
// sends it). The broker can be stopped with any signal and started again
// on the same ports with the same configuration, which is how the tests
// simulate a broker crash or restart.
package mosquitto
