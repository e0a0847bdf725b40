// Package broker runs the region's embedded NATS node: JetStream on disk,
// the MQTT listener the sites' uplinks connect to (optionally TLS), one
// MQTT-only user per site whose rights are the wire contract's ACL, a
// service user with full rights for regiond, cluster routes, and the
// region's event stream.
//
// nats-server's MQTT listener turns a topic into a subject level by level:
// '/' becomes '.', and a '.' inside a level becomes "//"
// (dozor/v1/north/ik5.a/sighting is dozor.v1.north.ik5//a.sighting).
// Subject and Topic convert between the two.
//
// A site's QoS 1 PUBLISH is delivered to the subject (where the region's
// stream captures it) and stored in the MQTT listener's own stream,
// $MQTT_msgs; the PUBACK waits for that second store only. The capture by
// the region's stream is not part of the acknowledgement, so a PUBACK does
// not prove the region's stream holds the message: the region detects
// gaps in each site's sequence and asks for them again.
//
// A message a site may not publish is dropped by the server and still
// acknowledged with a PUBACK (MQTT 3.1.1 has no negative acknowledgement);
// the server logs the violation. A core NATS publish reaches MQTT
// subscribers at QoS 0.
//
// The server logs through slog, never to stdout.
package broker
