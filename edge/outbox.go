package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/sync/uplink"
	"github.com/dozor-edge/dozor/sync/wire"
)

// outboxStore is what the uplink adapter needs of the store.
type outboxStore interface {
	Pending(ctx context.Context, afterSeq uint64, limit int) ([]store.OutboxMessage, error)
	MarkSent(ctx context.Context, seqs []uint64) error
	OutboxDepth(ctx context.Context) (int, error)
	Crop(ctx context.Context, actor, sightingID string) ([]byte, error)
}

// outbox adapts the store's outbox to uplink.Outbox and finishes each
// message as it leaves:
//
//   - The outbox row's sequence number is written into the payload's seq.
//     The store assigns it inside the event's transaction, after the
//     payload was composed, so stored payloads carry seq 0; the row is the
//     truth and the payload cannot disagree with it.
//   - The face crop is attached. Outbox payloads are stored unencrypted,
//     so they never hold a crop; the crop stays sealed in the sighting's
//     row and is read (an audited biometric read, actor "system") only to
//     be published, at most maxCrop bytes.
type outbox struct {
	st      outboxStore
	maxCrop int
	onCrop  func(err error) // told of crop read failures, for metrics and logs
}

var (
	_ uplink.Outbox        = (*outbox)(nil)
	_ uplink.DepthReporter = (*outbox)(nil)
)

func (o *outbox) Pending(ctx context.Context, afterSeq uint64, limit int) ([]uplink.Message, error) {
	msgs, err := o.st.Pending(ctx, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	out := make([]uplink.Message, len(msgs))
	for i, m := range msgs {
		payload, err := o.finish(ctx, m)
		if err != nil {
			return nil, err
		}
		out[i] = uplink.Message{Seq: m.Seq, Topic: m.Topic, Payload: payload, Retain: m.Retain, QoS: 1}
	}
	return out, nil
}

func (o *outbox) MarkSent(ctx context.Context, seqs []uint64) error { return o.st.MarkSent(ctx, seqs) }

func (o *outbox) OutboxDepth(ctx context.Context) (int, error) { return o.st.OutboxDepth(ctx) }

// finish returns the payload to publish for m. An error means "try again
// later" (the store could not be read); a payload that cannot be finished
// is published as stored, for the region to quarantine with its reason,
// rather than stopping the queue.
func (o *outbox) finish(ctx context.Context, m store.OutboxMessage) ([]byte, error) {
	t, err := wire.ParseTopic(m.Topic)
	if err != nil {
		return m.Payload, nil
	}
	switch t.Kind {
	case wire.KindSighting:
		var s wire.Sighting
		if err := json.Unmarshal(m.Payload, &s); err != nil {
			return m.Payload, nil
		}
		s.Seq = m.Seq
		crop, err := o.crop(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		s.Crop = crop
		return encodeOr(s, m.Payload), nil
	case wire.KindAlert:
		var a wire.Alert
		if err := json.Unmarshal(m.Payload, &a); err != nil {
			return m.Payload, nil
		}
		a.Seq = m.Seq
		crop, err := o.crop(ctx, a.Sighting)
		if err != nil {
			return nil, err
		}
		a.Evidence.Crop = crop
		return encodeOr(a, m.Payload), nil
	case wire.KindAlertDecision:
		var d wire.AlertDecision
		if err := json.Unmarshal(m.Payload, &d); err != nil {
			return m.Payload, nil
		}
		d.Seq = m.Seq
		return encodeOr(d, m.Payload), nil
	case wire.KindAudit:
		var r wire.AuditRecord
		if err := json.Unmarshal(m.Payload, &r); err != nil {
			return m.Payload, nil
		}
		r.Seq = m.Seq
		return encodeOr(r, m.Payload), nil
	}
	return m.Payload, nil
}

// crop reads the crop of a sighting for the wire: nil when crops are not
// sent, the sighting has none or it is too large.
func (o *outbox) crop(ctx context.Context, sighting wire.ID) ([]byte, error) {
	if o.maxCrop <= 0 || sighting.IsZero() {
		return nil, nil
	}
	b, err := o.st.Crop(ctx, store.SystemActor, sighting.String())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		if o.onCrop != nil {
			o.onCrop(err)
		}
		return nil, fmt.Errorf("crop of sighting %s: %w", sighting, err)
	case len(b) > o.maxCrop || len(b) > wire.MaxCropLen:
		return nil, nil
	}
	return b, nil
}

// encodeOr encodes p, or, when p does not validate (an alert whose crop is
// missing), returns it marshalled anyway with its sequence number, so the
// region files the message with the reason instead of never hearing of it.
func encodeOr(p wire.Payload, stored []byte) []byte {
	if b, err := wire.Encode(p); err == nil {
		return b
	}
	if b, err := json.Marshal(p); err == nil {
		return b
	}
	return stored
}
