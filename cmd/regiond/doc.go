// Command regiond is the region daemon: it reads its configuration, builds
// the logger and the store (through region/cgodeps: SQLite, or PostgreSQL
// when configured), and runs package region until SIGINT or SIGTERM: the
// embedded NATS node the facilities' MQTT uplinks connect to, the
// ingesters that store every site's events exactly once, the dashboard,
// /healthz and /metrics.
//
//	regiond -config /etc/dozor/regiond.yaml
//	regiond -print-example-config > regiond.yaml
//	regiond site add -config /etc/dozor/regiond.yaml -site ik5
//	regiond site list -config /etc/dozor/regiond.yaml
//	regiond user add -config /etc/dozor/regiond.yaml -name anna -role admin -password-stdin
//	regiond status -url http://127.0.0.1:8090
//	regiond loadgen -mqtt tcp://127.0.0.1:1883 -region north -sites-file sites -rate 400
//	regiond bench-ingest -store sqlite -nodes 1 -rate 200,400
//
// `site add` makes a random password for a new site, prints it once (it
// goes into the facility's uplink password_file) and appends the site with
// the password's bcrypt hash to broker.sites_file (mode 0600, rewritten
// atomically); a site already there is refused. `site list` prints the
// sites in the file. The running daemon reads the sites file when it
// starts: restart it to let a new site in. SIGHUP says so in the log.
//
// `user add` creates or replaces a dashboard account, the password read
// from standard input; the admin manages the others on the dashboard.
//
// `status` reads a running regiond's /healthz and prints its sites (state,
// last seen, cameras up/total, contiguous/highest seq, open gaps) and its
// ingest counters; it exits 1 when the region is unhealthy or does not
// answer.
//
// `loadgen` publishes real wire messages from simulated facilities to a
// region at a peak rate and prints the exact counts it sent. `bench-ingest`
// starts a region in this process on loopback (its NATS node or a
// three-node cluster, SQLite or PostgreSQL) and measures how many events a
// second it stores, with the publish-to-commit latencies. Each sub-command
// lists its flags with -h.
//
// Exit status: 0 after a clean stop; 1 when the daemon cannot start
// (invalid configuration or sites file, a broker or store that cannot
// start), with the reason on standard error; 2 for misused flags. The
// supervisor (systemd, the container runtime) restarts it.
package main
