// Package uplink drains a site's outbox to the regional MQTT broker.
//
// The facility store writes every event, alert, decision and audit record
// to its outbox first; the uplink only reads it (Outbox.Pending, and
// Outbox.Range for the region's resend requests) and records what the
// broker has acknowledged (Outbox.MarkSent). The outbox is the only queue
// of events: no event is held in memory that the store does not also hold,
// so a crash or a broker outage of any length loses nothing. Retained
// states (SetRetained: camera status) are the one thing outside it: only
// the latest per topic matters, so the uplink keeps that in memory and
// publishes it again after every connect, and after a restart the daemon
// sets each state afresh.
//
// # Delivery
//
//   - QoS 1, in ascending seq order, at most Config.Window messages in
//     flight.
//   - A message is marked sent only after its PUBACK, and only as part of
//     an unbroken acknowledged prefix, so the outbox's unsent messages are
//     always a suffix of what was published.
//   - After a reconnect the uplink starts again from the oldest unsent
//     message. The region therefore sees each message at least once, and
//     keeping the first copy of each (site, seq) gives them in order.
//   - The daemon calls Notify after each write to the outbox; a slow poll
//     (Config.PollInterval) is the safety net. While a backlog drains, new
//     messages simply join its end.
//
// # Resend requests
//
// A PUBACK proves only that the broker took a message; the region may
// still find a gap in a site's sequence numbers. It then publishes a
// wire.ResendRequest on the site's resend topic, to which the uplink
// subscribes (QoS 1) after every connect; requests the broker kept in the
// site's session while it was away arrive first and are served too. The
// uplink publishes the range's messages the outbox has marked sent again
// (Outbox.Range), unchanged (same topic and payload, QoS 1, not retained),
// in seq order and at most MaxResendPerRequest a request, Config.Window
// at a time, each part once the broker has acknowledged the one before.
// Messages of the range not sent yet are left to the drain, which sends
// them in their turn. One request is served at a time; a few more wait,
// and one whose range a waiting or running request already covers is
// merged into it. A request that does not decode, is for another site or
// finds the queue full is ignored, counted in Stats.ResendIgnored and
// logged at most once a minute; the region asks again while its gap stays
// open.
//
// # Gallery revisions
//
// With Options.OnGalleryRevision set, the uplink also subscribes (QoS 1)
// to the site's gallery revision topic after every connect, and hands each
// chunk the region publishes there, unread, to that callback on the MQTT
// client's goroutine (which must only queue it): the chunks are signed by
// the region and checked by the site's gallery sync, which knows the key
// and the revision in force. Chunks the broker kept in the session while
// the site was away arrive after the next connect. Options.OnConnect runs
// once after each connect, with the subscriptions in place, so that the
// site can ask the region for what follows the revision it runs.
//
// # Connection
//
// One paho client per connection, CleanSession false under a stable client
// ID, no paho auto-reconnect: Run owns the loop, with a jittered backoff
// doubling from Config.MinBackoff to Config.MaxBackoff (1 s to 60 s by
// default), reset only after a connection has stayed up 30 s so that a
// broker that accepts and drops at once is not hammered. Refused
// credentials, TLS failures and network errors are reported in Stats and
// the log with what to check, and retried: the operator can fix the
// password file or certificates without a restart.
//
// The site status topic carries the box's presence: the last will
// (offline, "connection lost", retained, QoS 1) is registered with every
// connection, the online status (retained) is published and acknowledged
// before the outbox is drained and again every five minutes while
// connected (its outbox depth and last seq stay fresh at the region even
// when the site is quiet), and an orderly stop publishes offline
// ("shutdown") before DISCONNECT, since a clean disconnect cancels the
// will.
//
// # Hardware test
//
// Probe is the installer's check of the same connection: it connects with
// the uplink's own code (connect builds every connection, the daemon's and
// the probe's), under the client ID "{client id}-hwtest" with a clean
// session and no last will, so a running daemon keeps its session and its
// status, and times QoS 1 pings on the site's hwtest topic there and back.
//
// # Secrets
//
// The password and key are read from files at every attempt and never
// logged; broker URLs are redacted in messages (Redact), and a URL with
// credentials in it is a configuration error.
package uplink
