package uplink

import (
	"bytes"
	"fmt"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/dozor-edge/dozor/sync/wire"
)

// SetRetained sets the current state published on topic: a retained
// message outside the outbox, such as a camera status. State messages
// carry no sequence number and are not stored; the uplink keeps the latest
// payload per topic in memory, publishes it (QoS 1, retained) at once when
// connected, and publishes every stored state again after each connect,
// after the online site status and alongside the outbox. Only the latest
// payload of a topic is ever published: one set while disconnected
// replaces the one before it. Setting the same payload again publishes
// nothing.
//
// The topic must be a retained topic of this uplink's region and site
// other than the site status, which the uplink owns (in practice
// wire.CameraStatusTopic), and the payload at most wire.MaxPayloadLen
// bytes. It never blocks on the network and may be called from any
// goroutine, before or while Run runs.
func (u *Uplink) SetRetained(topic string, payload []byte) error {
	if err := u.checkRetained(topic, payload); err != nil {
		return err
	}
	u.mu.Lock()
	if old, ok := u.retained[topic]; ok && bytes.Equal(old, payload) {
		u.mu.Unlock()
		return nil
	}
	u.retained[topic] = bytes.Clone(payload)
	u.dirty[topic] = struct{}{}
	u.mu.Unlock()
	select {
	case u.stateKick <- struct{}{}:
	default:
	}
	return nil
}

// checkRetained says why topic and payload cannot be a state message.
func (u *Uplink) checkRetained(topic string, payload []byte) error {
	if len(payload) > wire.MaxPayloadLen {
		return fmt.Errorf("uplink: retained %s: payload of %d bytes, larger than %d", clipString(topic, 200), len(payload), wire.MaxPayloadLen)
	}
	t, err := wire.ParseTopic(topic)
	if err != nil {
		return fmt.Errorf("uplink: retained: %w", err)
	}
	switch {
	case !t.Kind.FromSite() || !t.Kind.Retained():
		return fmt.Errorf("uplink: retained %s: %v messages are not retained site state", topic, t.Kind)
	case t.Kind == wire.KindSiteStatus:
		return fmt.Errorf("uplink: retained %s: the site status is the uplink's own", topic)
	case t.Region != u.cfg.Region || t.Site != u.cfg.Site:
		return fmt.Errorf("uplink: retained %s: topic of region %q site %q; this uplink is region %q site %q",
			topic, t.Region, t.Site, u.cfg.Region, u.cfg.Site)
	}
	return nil
}

// publishStates publishes the stored states: all of them after a connect,
// otherwise those set since the last call. It does not wait for the
// PUBACKs; their tokens are returned for pruneStates.
func (u *Uplink) publishStates(client mqtt.Client, all bool, pending []mqtt.Token) []mqtt.Token {
	type state struct {
		topic   string
		payload []byte
	}
	u.mu.Lock()
	var out []state
	if all {
		for t, p := range u.retained {
			out = append(out, state{t, p})
		}
	} else {
		for t := range u.dirty {
			out = append(out, state{t, u.retained[t]})
		}
	}
	clear(u.dirty)
	u.stats.StatesPublished += uint64(len(out))
	u.mu.Unlock()
	for _, s := range out {
		pending = append(pending, client.Publish(s.topic, 1, true, s.payload))
	}
	return pending
}

// pruneStates drops the acknowledged state tokens, logging failures; a
// state whose publish failed is published again at the next connect.
func (u *Uplink) pruneStates(pending []mqtt.Token) []mqtt.Token {
	keep := pending[:0]
	for _, tok := range pending {
		select {
		case <-tok.Done():
			if err := tok.Error(); err != nil {
				u.log.Warn("retained state not published; it is sent again at the next connect", "err", err)
			}
		default:
			keep = append(keep, tok)
		}
	}
	clear(pending[len(keep):])
	return keep
}
