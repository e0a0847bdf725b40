package wire

import (
	"errors"
	"strings"
	"testing"
)

// fuzzDecoder checks what must hold for any input: no panic; a refusal is
// a *FieldError; an accepted payload re-encodes within the limits and
// decodes to the same encoding.
func fuzzDecoder(f *testing.F, kind Kind) {
	for _, d := range decoders {
		if d.kind != kind {
			continue
		}
		for _, tc := range d.cases() {
			if len(tc.data) < 4096 { // the oversized cases teach the fuzzer nothing
				f.Add([]byte(tc.data))
			}
		}
		f.Fuzz(func(t *testing.T, data []byte) {
			p, err := d.decode(data, testNow)
			if err != nil {
				var fe *FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("error %T is not a *FieldError: %v", err, err)
				}
				return
			}
			if len(data) > MaxPayloadLen {
				t.Fatalf("accepted %d bytes", len(data))
			}
			checkRoundTrip(t, d.decode, p)
		})
		return
	}
	f.Fatalf("no decoder for %v", kind)
}

func FuzzDecodeSighting(f *testing.F)         { fuzzDecoder(f, KindSighting) }
func FuzzDecodeAlert(f *testing.F)            { fuzzDecoder(f, KindAlert) }
func FuzzDecodeAlertDecision(f *testing.F)    { fuzzDecoder(f, KindAlertDecision) }
func FuzzDecodeSiteStatus(f *testing.F)       { fuzzDecoder(f, KindSiteStatus) }
func FuzzDecodeCameraStatus(f *testing.F)     { fuzzDecoder(f, KindCameraStatus) }
func FuzzDecodeAuditRecord(f *testing.F)      { fuzzDecoder(f, KindAudit) }
func FuzzDecodeGalleryAck(f *testing.F)       { fuzzDecoder(f, KindGalleryAck) }
func FuzzDecodeHWTestPing(f *testing.F)       { fuzzDecoder(f, KindHWTest) }
func FuzzDecodeResendRequest(f *testing.F)    { fuzzDecoder(f, KindResend) }
func FuzzDecodeGalleryEnrolment(f *testing.F) { fuzzDecoder(f, KindGalleryEnrol) }

// FuzzParseTopic: a topic that parses renders back to itself, and every
// ID in it is a valid segment.
func FuzzParseTopic(f *testing.F) {
	for _, tc := range topicCases {
		f.Add(tc.topic)
	}
	f.Fuzz(func(t *testing.T, topic string) {
		tp, err := ParseTopic(topic)
		if err != nil {
			if _, ok := err.(*TopicError); !ok {
				t.Fatalf("error %T is not a *TopicError", err)
			}
			return
		}
		if got := tp.String(); got != topic {
			t.Fatalf("parsed %q, renders as %q", topic, got)
		}
		if err := tp.Validate(); err != nil {
			t.Fatalf("parsed %q but it does not validate: %v", topic, err)
		}
		if strings.ContainsAny(topic, "+#\x00") {
			t.Fatalf("accepted %q", topic)
		}
	})
}

// FuzzDecode feeds topic and payload together, as a receiver gets them.
func FuzzDecode(f *testing.F) {
	for _, d := range decoders {
		topic := Topic{Kind: d.kind, Region: "north", Site: "ik5", Camera: "gate-1"}.String()
		for _, tc := range d.cases() {
			if len(tc.data) < 4096 {
				f.Add(topic, []byte(tc.data))
			}
		}
	}
	f.Fuzz(func(t *testing.T, topic string, data []byte) {
		m, err := Decode(topic, data, testNow)
		if err != nil {
			return
		}
		site, camera := payloadSite(m.Payload)
		if site != m.Topic.Site || (m.Topic.Kind == KindCameraStatus && camera != m.Topic.Camera) {
			t.Fatalf("accepted a payload for %s/%s on %s", site, camera, topic)
		}
		if m.Payload.TopicKind() != m.Topic.Kind {
			t.Fatalf("a %v payload on a %v topic", m.Payload.TopicKind(), m.Topic.Kind)
		}
		if err := m.Payload.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}
