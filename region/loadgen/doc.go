// Package loadgen simulates many facilities publishing to a region: each
// site is one MQTT connection (paho, MQTT 3.1.1, QoS 1) that publishes real
// wire messages (mostly sightings, some with a small JPEG face crop, and a
// share of alerts, alert decisions, audit records, site and camera
// statuses), every payload valid by wire.Decode, every site's seq running
// from 1 without gaps and its audit records forming a hash chain.
//
// The offered rate is a total across the sites, paced by Schedule: a
// steady peak, or bursts at the peak alternating with lulls. Messages go to
// the sites in turn. A site keeps at most Window messages awaiting their
// PUBACK; when the oldest waits longer than AckTimeout, or the connection
// drops, it reconnects and publishes every unacknowledged message again in
// order, as a facility's uplink does. The Report counts exactly what was
// sent (each message once), published again, and acknowledged, per kind.
//
// PrepareSites creates the simulated sites' credentials in the region's
// sites file with config.AddSite and keeps their clear passwords beside
// it, since the sites file holds only bcrypt hashes.
package loadgen
