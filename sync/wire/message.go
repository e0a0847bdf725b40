package wire

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotForRegion is wrapped by Decode's error for a topic of the tree that
// the region does not read: gallery revisions (the region's own, read by
// the sites' gallery sync) and hardware-test pings (a site's, read only by
// itself). A receiver subscribed to a whole site (SiteFilter) sees both and
// may skip them rather than quarantine them.
var ErrNotForRegion = errors.New("not a message for the region")

// Message is a received message: its parsed topic and its payload, one of
// Sighting, Alert, AlertDecision, SiteStatus, CameraStatus, AuditRecord,
// GalleryAck, GalleryEnrolment or, for a site, ResendRequest.
type Message struct {
	Topic   Topic
	Payload Payload
}

// Seq returns the payload's outbox sequence number, or 0 for kinds that do
// not pass through the outbox (site and camera status).
func (m Message) Seq() uint64 {
	switch p := m.Payload.(type) {
	case Sighting:
		return p.Seq
	case Alert:
		return p.Seq
	case AlertDecision:
		return p.Seq
	case AuditRecord:
		return p.Seq
	case GalleryAck:
		return p.Seq
	case GalleryEnrolment:
		return p.Seq
	}
	return 0
}

// Decode is what a receiver runs on every message from a site, and what a
// site runs on the region's resend requests: it parses the topic, decodes
// the payload the topic calls for and checks that the payload's site (and
// camera) match the topic's, so that a box cannot speak for another and a
// request for one site cannot pass for another's. now is the receiver's
// clock. Gallery revisions and hardware-test pings are refused with an
// error wrapping ErrNotForRegion. A resend request decodes, but it is the
// region's own: a region-side receiver that sees a whole site's subtree
// keeps only kinds whose FromSite is true.
//
// A receiver keeps what Decode refuses (topic, payload, error) in a
// quarantine rather than dropping it: the site has already marked the
// message sent.
func Decode(topic string, data []byte, now time.Time) (Message, error) {
	t, err := ParseTopic(topic)
	if err != nil {
		return Message{}, err
	}
	var p Payload
	switch t.Kind {
	case KindSighting:
		p, err = DecodeSighting(data, now)
	case KindAlert:
		p, err = DecodeAlert(data, now)
	case KindAlertDecision:
		p, err = DecodeAlertDecision(data, now)
	case KindSiteStatus:
		p, err = DecodeSiteStatus(data, now)
	case KindCameraStatus:
		p, err = DecodeCameraStatus(data, now)
	case KindAudit:
		p, err = DecodeAuditRecord(data, now)
	case KindGalleryAck:
		p, err = DecodeGalleryAck(data, now)
	case KindGalleryEnrol:
		p, err = DecodeGalleryEnrolment(data, now)
	case KindResend:
		p, err = DecodeResendRequest(data, now)
	case KindGalleryRevision:
		return Message{}, fmt.Errorf("%s: %v payloads are read by the gallery sync, not by wire.Decode: %w", topic, t.Kind, ErrNotForRegion)
	case KindHWTest:
		return Message{}, fmt.Errorf("%s: %v payloads are a site's hardware test talking to itself (DecodeHWTestPing reads them): %w", topic, t.Kind, ErrNotForRegion)
	default:
		return Message{}, fmt.Errorf("%s: no decoder for %v", topic, t.Kind)
	}
	if err != nil {
		return Message{}, err
	}
	site, camera := payloadSite(p)
	if site != t.Site {
		return Message{}, &FieldError{Payload: t.Kind.String(), Field: "site", Reason: fmt.Sprintf("%q does not match the topic's site %q", site, t.Site)}
	}
	if t.Kind == KindCameraStatus && camera != t.Camera {
		return Message{}, &FieldError{Payload: t.Kind.String(), Field: "camera", Reason: fmt.Sprintf("%q does not match the topic's camera %q", camera, t.Camera)}
	}
	return Message{Topic: t, Payload: p}, nil
}

func payloadSite(p Payload) (site, camera string) {
	switch p := p.(type) {
	case Sighting:
		return p.Site, p.Camera
	case Alert:
		return p.Site, p.Camera
	case AlertDecision:
		return p.Site, ""
	case SiteStatus:
		return p.Site, ""
	case CameraStatus:
		return p.Site, p.Camera
	case AuditRecord:
		return p.Site, ""
	case GalleryAck:
		return p.Site, ""
	case GalleryEnrolment:
		return p.Site, ""
	case ResendRequest:
		return p.Site, ""
	}
	return "", ""
}
