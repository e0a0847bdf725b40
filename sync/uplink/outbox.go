package uplink

import "context"

// Message is one outbox row as the uplink sees it.
type Message struct {
	// Seq is the outbox sequence number: assigned by the store, strictly
	// increasing in the order messages were stored.
	Seq     uint64
	Topic   string
	Payload []byte
	Retain  bool
	// QoS is the MQTT quality of service the outbox asked for. Every
	// message is published with QoS 1: 0 is raised (nothing in the outbox
	// is fire-and-forget) and 2 is lowered, because its exactly-once
	// handshake does not survive a new client session, while QoS 1 plus
	// the receiver's dedup by seq gives the same result. Above 2 the
	// message is invalid.
	QoS byte
	// Sent reports that the outbox has marked the message sent; only Range
	// sets it (Pending returns unsent messages alone).
	Sent bool
}

// Outbox is the durable queue the uplink drains; the facility store
// implements it.
type Outbox interface {
	// Pending returns up to limit unsent messages with Seq > afterSeq in
	// ascending Seq order.
	Pending(ctx context.Context, afterSeq uint64, limit int) ([]Message, error)
	// MarkSent records that the broker acknowledged these messages; they
	// are not returned by Pending again.
	MarkSent(ctx context.Context, seqs []uint64) error
	// Range returns up to limit messages with from <= Seq <= to, sent or
	// not (Sent tells), in ascending Seq order, for the region's resend
	// requests. Messages the outbox no longer keeps are left out.
	Range(ctx context.Context, from, to uint64, limit int) ([]Message, error)
}

// DepthReporter is implemented by outboxes that can count their unsent
// messages cheaply. When the outbox has it, Stats.OutboxDepth and the site
// status carry the count, even while the broker is unreachable.
type DepthReporter interface {
	OutboxDepth(ctx context.Context) (int, error)
}
