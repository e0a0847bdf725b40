package wire

import (
	"fmt"
	"strings"
)

// Root is the first topic level of everything dozor publishes, and
// TreeVersion the second. The tree version changes only when the shape of
// the tree changes; payload versions (the "v" field) move independently.
const (
	Root        = "dozor"
	TreeVersion = "v1"
)

// MaxSegmentLen bounds region, site and camera IDs; MaxTopicLen bounds a
// whole topic handed to ParseTopic (the longest valid topic is well below).
const (
	MaxSegmentLen = 64
	MaxTopicLen   = 512
)

// Kind is what a topic carries.
type Kind uint8

// The message kinds, each with its topic suffix under
// dozor/v1/{region}/{site}/.
const (
	KindInvalid         Kind = iota
	KindSighting             // sighting                 site -> region
	KindAlert                // alert                    site -> region
	KindAlertDecision        // alert/decision           site -> region
	KindSiteStatus           // status                   site -> region, retained, last will
	KindCameraStatus         // camera/{camera}/status   site -> region, retained
	KindAudit                // audit                    site -> region
	KindGalleryAck           // gallery/ack              site -> region
	KindGalleryRevision      // gallery/revision         region -> site
	KindHWTest               // hwtest                   site -> itself (the hardware test)
	KindResend               // resend                   region -> site
	KindGalleryEnrol         // gallery/enrol            site -> region
)

var kindNames = [...]string{
	KindInvalid:         "invalid",
	KindSighting:        "sighting",
	KindAlert:           "alert",
	KindAlertDecision:   "alert-decision",
	KindSiteStatus:      "site-status",
	KindCameraStatus:    "camera-status",
	KindAudit:           "audit",
	KindGalleryAck:      "gallery-ack",
	KindGalleryRevision: "gallery-revision",
	KindHWTest:          "hwtest",
	KindResend:          "resend",
	KindGalleryEnrol:    "gallery-enrol",
}

// Kinds lists every valid kind, in declaration order.
var Kinds = []Kind{KindSighting, KindAlert, KindAlertDecision, KindSiteStatus, KindCameraStatus, KindAudit, KindGalleryAck, KindGalleryRevision, KindHWTest, KindResend, KindGalleryEnrol}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Retained reports the kinds published with the MQTT retain flag: the
// latest state of a site or camera, which a subscriber that connects later
// must see at once.
func (k Kind) Retained() bool { return k == KindSiteStatus || k == KindCameraStatus }

// FromSite reports the direction: true for site -> region. It is false
// for what the region sends to a site (gallery revisions, resend requests)
// and for KindHWTest, which a site publishes for itself alone.
func (k Kind) FromSite() bool {
	switch k {
	case KindInvalid, KindGalleryRevision, KindHWTest, KindResend:
		return false
	}
	return int(k) < len(kindNames)
}

// Topic is a parsed topic. Camera is set only for KindCameraStatus.
type Topic struct {
	Kind   Kind
	Region string
	Site   string
	Camera string
}

// TopicError is what ParseTopic and the builders return.
type TopicError struct {
	Topic  string
	Reason string
}

func (e *TopicError) Error() string {
	t := e.Topic
	if len(t) > 120 {
		t = t[:120] + "..."
	}
	return fmt.Sprintf("topic %q: %s", t, e.Reason)
}

// ValidateSegment checks a region, site or camera ID: 1 to 64 bytes of
// ASCII letters, digits, '.', '_' and '-', starting with a letter or a
// digit. The characters MQTT gives a meaning to ('/', '+', '#', '$'), NUL,
// spaces and anything non-ASCII are refused, so an ID is always a single
// literal topic level and a safe name in logs and file systems.
func ValidateSegment(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty")
	case len(s) > MaxSegmentLen:
		return fmt.Errorf("%d bytes, longer than %d", len(s), MaxSegmentLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			return fmt.Errorf("contains '/', the topic level separator")
		case c == '+' || c == '#':
			return fmt.Errorf("contains %q, an MQTT wildcard", c)
		case c == 0:
			return fmt.Errorf("contains NUL")
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '_' || c == '-':
			if i == 0 {
				return fmt.Errorf("starts with %q; must start with a letter or digit", c)
			}
		case c >= 0x80:
			return fmt.Errorf("contains non-ASCII byte 0x%02x at byte %d; allowed: A-Z a-z 0-9 . _ -", c, i)
		default:
			return fmt.Errorf("contains %q at byte %d; allowed: A-Z a-z 0-9 . _ -", rune(c), i)
		}
	}
	return nil
}

// Validate checks the kind and every ID the kind needs.
func (t Topic) Validate() error {
	if t.Kind == KindInvalid || int(t.Kind) >= len(kindNames) {
		return &TopicError{Topic: t.String(), Reason: fmt.Sprintf("unknown kind %v", t.Kind)}
	}
	if err := ValidateSegment(t.Region); err != nil {
		return &TopicError{Topic: t.String(), Reason: "region: " + err.Error()}
	}
	if err := ValidateSegment(t.Site); err != nil {
		return &TopicError{Topic: t.String(), Reason: "site: " + err.Error()}
	}
	if t.Kind == KindCameraStatus {
		if err := ValidateSegment(t.Camera); err != nil {
			return &TopicError{Topic: t.String(), Reason: "camera: " + err.Error()}
		}
	} else if t.Camera != "" {
		return &TopicError{Topic: t.String(), Reason: fmt.Sprintf("camera: set for kind %v, which has no camera level", t.Kind)}
	}
	return nil
}

// String renders the topic without validating it; use Build for topics
// that are about to be published.
func (t Topic) String() string {
	prefix := Root + "/" + TreeVersion + "/" + t.Region + "/" + t.Site + "/"
	switch t.Kind {
	case KindSighting:
		return prefix + "sighting"
	case KindAlert:
		return prefix + "alert"
	case KindAlertDecision:
		return prefix + "alert/decision"
	case KindSiteStatus:
		return prefix + "status"
	case KindCameraStatus:
		return prefix + "camera/" + t.Camera + "/status"
	case KindAudit:
		return prefix + "audit"
	case KindGalleryAck:
		return prefix + "gallery/ack"
	case KindGalleryRevision:
		return prefix + "gallery/revision"
	case KindHWTest:
		return prefix + "hwtest"
	case KindResend:
		return prefix + "resend"
	case KindGalleryEnrol:
		return prefix + "gallery/enrol"
	}
	return prefix + "?"
}

// Build validates the topic and renders it.
func (t Topic) Build() (string, error) {
	if err := t.Validate(); err != nil {
		return "", err
	}
	return t.String(), nil
}

// SightingTopic is dozor/v1/{region}/{site}/sighting.
func SightingTopic(region, site string) (string, error) {
	return Topic{Kind: KindSighting, Region: region, Site: site}.Build()
}

// AlertTopic is dozor/v1/{region}/{site}/alert.
func AlertTopic(region, site string) (string, error) {
	return Topic{Kind: KindAlert, Region: region, Site: site}.Build()
}

// AlertDecisionTopic is dozor/v1/{region}/{site}/alert/decision.
func AlertDecisionTopic(region, site string) (string, error) {
	return Topic{Kind: KindAlertDecision, Region: region, Site: site}.Build()
}

// SiteStatusTopic is dozor/v1/{region}/{site}/status (retained; the last
// will).
func SiteStatusTopic(region, site string) (string, error) {
	return Topic{Kind: KindSiteStatus, Region: region, Site: site}.Build()
}

// CameraStatusTopic is dozor/v1/{region}/{site}/camera/{camera}/status
// (retained).
func CameraStatusTopic(region, site, camera string) (string, error) {
	return Topic{Kind: KindCameraStatus, Region: region, Site: site, Camera: camera}.Build()
}

// AuditTopic is dozor/v1/{region}/{site}/audit.
func AuditTopic(region, site string) (string, error) {
	return Topic{Kind: KindAudit, Region: region, Site: site}.Build()
}

// GalleryAckTopic is dozor/v1/{region}/{site}/gallery/ack.
func GalleryAckTopic(region, site string) (string, error) {
	return Topic{Kind: KindGalleryAck, Region: region, Site: site}.Build()
}

// GalleryEnrolTopic is dozor/v1/{region}/{site}/gallery/enrol, where a
// site sends a person it enrolled locally up to the region.
func GalleryEnrolTopic(region, site string) (string, error) {
	return Topic{Kind: KindGalleryEnrol, Region: region, Site: site}.Build()
}

// GalleryRevisionTopic is dozor/v1/{region}/{site}/gallery/revision, the
// one topic the region publishes gallery revision chunks to and the site
// subscribes to (the chunk format is sync/gallerysync's).
func GalleryRevisionTopic(region, site string) (string, error) {
	return Topic{Kind: KindGalleryRevision, Region: region, Site: site}.Build()
}

// HWTestTopic is dozor/v1/{region}/{site}/hwtest, where the installer's
// hardware test publishes pings and reads them back: the site is both
// sender and receiver.
func HWTestTopic(region, site string) (string, error) {
	return Topic{Kind: KindHWTest, Region: region, Site: site}.Build()
}

// ResendTopic is dozor/v1/{region}/{site}/resend, where the region asks
// the site to publish a range of its outbox again (ResendRequest).
func ResendTopic(region, site string) (string, error) {
	return Topic{Kind: KindResend, Region: region, Site: site}.Build()
}

// SiteFilter is the subscription filter for everything under one site,
// dozor/v1/{region}/{site}/#.
func SiteFilter(region, site string) (string, error) {
	if err := ValidateSegment(region); err != nil {
		return "", fmt.Errorf("site filter: region: %w", err)
	}
	if err := ValidateSegment(site); err != nil {
		return "", fmt.Errorf("site filter: site: %w", err)
	}
	return Root + "/" + TreeVersion + "/" + region + "/" + site + "/#", nil
}

// KindFilter is the subscription filter for one kind from every site of a
// region, e.g. dozor/v1/{region}/+/sighting; region "+" means every region.
// It is for MQTT clients such as a monitoring tool; the region itself reads
// NATS JetStream, where the replicas of the aggregator split the load by
// sharing one durable consumer (NATS has no MQTT shared subscriptions).
func KindFilter(region string, k Kind) (string, error) {
	if region != "+" {
		if err := ValidateSegment(region); err != nil {
			return "", fmt.Errorf("kind filter: region: %w", err)
		}
	}
	if k == KindInvalid || int(k) >= len(kindNames) {
		return "", fmt.Errorf("kind filter: unknown kind %v", k)
	}
	return Topic{Kind: k, Region: region, Site: "+", Camera: "+"}.String(), nil
}

// ParseTopic parses and validates a concrete topic (no wildcards) of the
// dozor/v1 tree.
func ParseTopic(topic string) (Topic, error) {
	fail := func(format string, a ...any) (Topic, error) {
		return Topic{}, &TopicError{Topic: topic, Reason: fmt.Sprintf(format, a...)}
	}
	if len(topic) > MaxTopicLen {
		return fail("%d bytes, longer than %d", len(topic), MaxTopicLen)
	}
	if strings.IndexByte(topic, 0) >= 0 {
		return fail("contains NUL")
	}
	parts := strings.Split(topic, "/")
	if parts[0] != Root {
		return fail("not under %s/", Root)
	}
	if len(parts) < 2 || parts[1] != TreeVersion {
		v := ""
		if len(parts) >= 2 {
			v = parts[1]
		}
		return fail("unsupported tree version %q (this reader knows %s)", v, TreeVersion)
	}
	if len(parts) < 5 {
		return fail("too short: want %s/%s/{region}/{site}/{kind...}", Root, TreeVersion)
	}
	t := Topic{Region: parts[2], Site: parts[3]}
	if err := ValidateSegment(t.Region); err != nil {
		return fail("region: %v", err)
	}
	if err := ValidateSegment(t.Site); err != nil {
		return fail("site: %v", err)
	}
	rest := parts[4:]
	switch {
	case len(rest) == 1 && rest[0] == "sighting":
		t.Kind = KindSighting
	case len(rest) == 1 && rest[0] == "alert":
		t.Kind = KindAlert
	case len(rest) == 2 && rest[0] == "alert" && rest[1] == "decision":
		t.Kind = KindAlertDecision
	case len(rest) == 1 && rest[0] == "status":
		t.Kind = KindSiteStatus
	case len(rest) == 3 && rest[0] == "camera" && rest[2] == "status":
		if err := ValidateSegment(rest[1]); err != nil {
			return fail("camera: %v", err)
		}
		t.Kind, t.Camera = KindCameraStatus, rest[1]
	case len(rest) == 1 && rest[0] == "audit":
		t.Kind = KindAudit
	case len(rest) == 2 && rest[0] == "gallery" && rest[1] == "ack":
		t.Kind = KindGalleryAck
	case len(rest) == 2 && rest[0] == "gallery" && rest[1] == "revision":
		t.Kind = KindGalleryRevision
	case len(rest) == 2 && rest[0] == "gallery" && rest[1] == "enrol":
		t.Kind = KindGalleryEnrol
	case len(rest) == 1 && rest[0] == "hwtest":
		t.Kind = KindHWTest
	case len(rest) == 1 && rest[0] == "resend":
		t.Kind = KindResend
	default:
		s := strings.Join(rest, "/")
		if strings.ContainsAny(s, "+#") {
			return fail("contains an MQTT wildcard; a message topic must be concrete")
		}
		return fail("unknown kind %q after the site level", s)
	}
	return t, nil
}
