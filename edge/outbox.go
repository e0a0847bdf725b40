package edge

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/sync/uplink"
	"github.com/dozor-edge/dozor/sync/wire"
)

// outboxStore is what the uplink adapter needs of the store.
type outboxStore interface {
	Pending(ctx context.Context, afterSeq uint64, limit int) ([]store.OutboxMessage, error)
	OutboxRange(ctx context.Context, from, to uint64, limit int) ([]store.OutboxMessage, error)
	MarkSent(ctx context.Context, seqs []uint64) error
	OutboxDepth(ctx context.Context) (int, error)
	// LastSeq is the highest seq assigned, announced in the site status.
	LastSeq(ctx context.Context) (uint64, error)
}

// outbox adapts the store's outbox to uplink.Outbox. Every message is
// stored final (composed by composer in its event's transaction, with its
// seq and crop), so publishing only reads it: no decoding, no crop read,
// no write. The same holds when the region asks for a range again: the
// messages go out as they were first sent.
type outbox struct{ st outboxStore }

var (
	_ uplink.Outbox        = outbox{}
	_ uplink.DepthReporter = outbox{}
)

func (o outbox) Pending(ctx context.Context, afterSeq uint64, limit int) ([]uplink.Message, error) {
	msgs, err := o.st.Pending(ctx, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	return uplinkMessages(msgs), nil
}

func (o outbox) Range(ctx context.Context, from, to uint64, limit int) ([]uplink.Message, error) {
	msgs, err := o.st.OutboxRange(ctx, from, to, limit)
	if err != nil {
		return nil, err
	}
	return uplinkMessages(msgs), nil
}

func uplinkMessages(msgs []store.OutboxMessage) []uplink.Message {
	out := make([]uplink.Message, len(msgs))
	for i, m := range msgs {
		out[i] = uplink.Message{Seq: m.Seq, Topic: m.Topic, Payload: m.Payload, Retain: m.Retain, QoS: 1, Sent: !m.SentAt.IsZero()}
	}
	return out
}

func (o outbox) MarkSent(ctx context.Context, seqs []uint64) error { return o.st.MarkSent(ctx, seqs) }

func (o outbox) OutboxDepth(ctx context.Context) (int, error) { return o.st.OutboxDepth(ctx) }

// wireCrop is the crop a message carries to the region: none when crops
// are not sent (maxCrop 0), the sighting kept none, or it is larger than
// maxCrop or than the wire allows.
func wireCrop(crop []byte, maxCrop int) []byte {
	if maxCrop <= 0 || len(crop) == 0 || len(crop) > maxCrop || len(crop) > wire.MaxCropLen {
		return nil
	}
	return crop
}

// composer returns what makes the outbox message of p on topic once the
// store gives it its seq (p is final but for that): the payload is
// encoded once, in the event's transaction. cropOf names the sighting
// whose crop p carries ("" when it carries none), for the store to seal
// the payload and audit the crop's release.
//
// p is checked here, as it will be stored, so a fault is found while the
// event is fresh and the event is stored without a message rather than
// not at all. An alert without its crop (crops not sent, or none kept)
// passes: the wire requires the crop, and the alert goes out without it
// for the region to file with that reason rather than never hear of it.
func composer(topic string, p wire.Payload, cropOf string) (store.Compose, error) {
	probe := withSeq(p, 1)
	if a, ok := probe.(wire.Alert); ok && len(a.Evidence.Crop) == 0 {
		a.Evidence.Crop = []byte{0xFF, 0xD8, 0xFF, 0xD9}
		probe = a
	}
	if err := probe.Validate(); err != nil {
		return nil, fmt.Errorf("outbox payload: %w", err)
	}
	return func(seq uint64) (store.OutboxMessage, error) {
		b, err := json.Marshal(withSeq(p, seq))
		if err != nil {
			return store.OutboxMessage{}, fmt.Errorf("outbox payload: %w", err)
		}
		return store.OutboxMessage{Topic: topic, Payload: b, CropOf: cropOf}, nil
	}, nil
}

// withSeq returns p numbered seq.
func withSeq(p wire.Payload, seq uint64) wire.Payload {
	switch v := p.(type) {
	case wire.Sighting:
		v.Seq = seq
		return v
	case wire.Alert:
		v.Seq = seq
		return v
	case wire.AlertDecision:
		v.Seq = seq
		return v
	}
	return p
}
