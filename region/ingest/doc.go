// Package ingest moves the sites' messages from the region's JetStream
// stream into the region's store, each exactly once.
//
// An Ingester pulls from a durable consumer (explicit ack, bounded ack
// pending, every message from the start of the stream). Several Ingesters,
// in one process or in several regiond replicas, share that consumer and
// split the messages between them.
//
// Each message goes through broker.Topic (subject to MQTT topic) and
// wire.Decode, which checks the payload against the topic. A message that
// decodes is stored by Store.Ingest in one transaction and acked only after
// the store returned; a repeat of a (site, seq) already stored is a
// duplicate and is acked too, which makes redelivery after a crash
// harmless. A message that does not decode is kept in the store's
// quarantine with the reason and acked. When the store fails the message is
// handed back with a growing delay and delivered again: nothing is acked
// that is not stored. Errors and quarantines are logged in aggregate.
//
// Beside the consumer, Run reads the store's open gaps in each site's
// sequence numbers every GapInterval. A gap open longer than ResendAfter is
// asked for with a wire.ResendRequest published with core NATS on the
// site's resend subject, which the site's MQTT subscription receives; the
// request is repeated, with a wait that doubles up to MaxResendBackoff,
// until the gap is filled.
package ingest
