// Command regiond is the region daemon: it reads its configuration, builds
// the logger and the store (through region/cgodeps: SQLite, or PostgreSQL
// when configured), and runs package region until SIGINT or SIGTERM: the
// embedded NATS node the facilities' MQTT uplinks connect to, the
// ingesters that store every site's events exactly once, /healthz and
// /metrics.
//
//	regiond -config /etc/dozor/regiond.yaml
//	regiond -print-example-config > regiond.yaml
//	regiond site add -config /etc/dozor/regiond.yaml -site ik5
//	regiond site list -config /etc/dozor/regiond.yaml
//
// `site add` makes a random password for a new site, prints it once (it
// goes into the facility's uplink password_file) and appends the site with
// the password's bcrypt hash to broker.sites_file (mode 0600, rewritten
// atomically); a site already there is refused. `site list` prints the
// sites in the file. The running daemon reads the sites file when it
// starts: restart it to let a new site in. SIGHUP says so in the log.
//
// Exit status: 0 after a clean stop; 1 when the daemon cannot start
// (invalid configuration or sites file, a broker or store that cannot
// start), with the reason on standard error; 2 for misused flags. The
// supervisor (systemd, the container runtime) restarts it.
package main
