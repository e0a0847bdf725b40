package wire

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

var topicCases = []struct {
	name  string
	topic string
	want  Topic
	err   string
}{
	{"sighting", "dozor/v1/north/ik5/sighting", Topic{Kind: KindSighting, Region: "north", Site: "ik5"}, ""},
	{"alert", "dozor/v1/north/ik5/alert", Topic{Kind: KindAlert, Region: "north", Site: "ik5"}, ""},
	{"decision", "dozor/v1/north/ik5/alert/decision", Topic{Kind: KindAlertDecision, Region: "north", Site: "ik5"}, ""},
	{"site status", "dozor/v1/north/ik5/status", Topic{Kind: KindSiteStatus, Region: "north", Site: "ik5"}, ""},
	{"camera status", "dozor/v1/north/ik5/camera/gate-1/status", Topic{Kind: KindCameraStatus, Region: "north", Site: "ik5", Camera: "gate-1"}, ""},
	{"audit", "dozor/v1/north/ik5/audit", Topic{Kind: KindAudit, Region: "north", Site: "ik5"}, ""},
	{"gallery ack", "dozor/v1/north/ik5/gallery/ack", Topic{Kind: KindGalleryAck, Region: "north", Site: "ik5"}, ""},
	{"gallery revision", "dozor/v1/north/ik5/gallery/revision", Topic{Kind: KindGalleryRevision, Region: "north", Site: "ik5"}, ""},
	{"hwtest", "dozor/v1/north/ik5/hwtest", Topic{Kind: KindHWTest, Region: "north", Site: "ik5"}, ""},
	{"resend", "dozor/v1/north/ik5/resend", Topic{Kind: KindResend, Region: "north", Site: "ik5"}, ""},
	{"gallery enrol", "dozor/v1/north/ik5/gallery/enrol", Topic{Kind: KindGalleryEnrol, Region: "north", Site: "ik5"}, ""},
	{"resend with a dot in the site", "dozor/v1/north/ik5.a/resend", Topic{Kind: KindResend, Region: "north", Site: "ik5.a"}, ""},
	{"longest IDs", "dozor/v1/" + strings.Repeat("r", 64) + "/" + strings.Repeat("s", 64) + "/camera/" + strings.Repeat("c", 64) + "/status",
		Topic{Kind: KindCameraStatus, Region: strings.Repeat("r", 64), Site: strings.Repeat("s", 64), Camera: strings.Repeat("c", 64)}, ""},
	{"dots and underscores", "dozor/v1/r.1/site_2/sighting", Topic{Kind: KindSighting, Region: "r.1", Site: "site_2"}, ""},

	{"empty", "", Topic{}, "not under dozor/"},
	{"other root", "acme/v1/north/ik5/sighting", Topic{}, "not under dozor/"},
	{"system topic", "$SYS/broker/uptime", Topic{}, "not under dozor/"},
	{"root only", "dozor", Topic{}, `unsupported tree version ""`},
	{"tree v2", "dozor/v2/north/ik5/sighting", Topic{}, `unsupported tree version "v2" (this reader knows v1)`},
	{"too short", "dozor/v1/north/ik5", Topic{}, "too short"},
	{"empty region", "dozor/v1//ik5/sighting", Topic{}, "region: empty"},
	{"empty site", "dozor/v1/north//sighting", Topic{}, "site: empty"},
	{"plus in region", "dozor/v1/+/ik5/sighting", Topic{}, "region: contains '+', an MQTT wildcard"},
	{"hash in site", "dozor/v1/north/#/sighting", Topic{}, "site: contains '#', an MQTT wildcard"},
	{"plus in camera", "dozor/v1/north/ik5/camera/+/status", Topic{}, "camera: contains '+'"},
	{"NUL", "dozor/v1/north/ik\x005/sighting", Topic{}, "contains NUL"},
	{"segment too long", "dozor/v1/" + strings.Repeat("r", 65) + "/ik5/sighting", Topic{}, "region: 65 bytes, longer than 64"},
	{"topic too long", "dozor/v1/north/ik5/" + strings.Repeat("x", 600), Topic{}, "longer than 512"},
	{"dollar in site", "dozor/v1/north/$ik5/sighting", Topic{}, `site: contains '$' at byte 0`},
	{"non-ASCII site", "dozor/v1/north/ик5/sighting", Topic{}, "site: contains non-ASCII byte 0xd0 at byte 0"},
	{"leading dash", "dozor/v1/north/-ik5/sighting", Topic{}, "site: starts with '-'"},
	{"unknown kind", "dozor/v1/north/ik5/sightings", Topic{}, `unknown kind "sightings" after the site level`},
	{"hwtest below a level", "dozor/v1/north/ik5/hwtest/x", Topic{}, `unknown kind "hwtest/x"`},
	{"resend below a level", "dozor/v1/north/ik5/resend/1", Topic{}, `unknown kind "resend/1"`},
	{"gallery enrol below a level", "dozor/v1/north/ik5/gallery/enrol/1", Topic{}, `unknown kind "gallery/enrol/1"`},
	{"gallery alone", "dozor/v1/north/ik5/gallery", Topic{}, `unknown kind "gallery"`},
	{"trailing slash", "dozor/v1/north/ik5/sighting/", Topic{}, `unknown kind "sighting/"`},
	{"wildcard kind", "dozor/v1/north/ik5/#", Topic{}, "contains an MQTT wildcard; a message topic must be concrete"},
	{"camera without id", "dozor/v1/north/ik5/camera/status", Topic{}, `unknown kind "camera/status"`},
	{"empty camera", "dozor/v1/north/ik5/camera//status", Topic{}, "camera: empty"},
}

func TestParseTopic(t *testing.T) {
	for _, tc := range topicCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTopic(tc.topic)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error containing %q", err, tc.err)
				}
				if _, ok := err.(*TopicError); !ok {
					t.Fatalf("error %T is not a *TopicError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			built, err := got.Build()
			if err != nil || built != tc.topic {
				t.Fatalf("Build() = %q, %v; want the parsed topic back", built, err)
			}
		})
	}
}

func TestBuilders(t *testing.T) {
	builders := map[Kind]func(r, s string) (string, error){
		KindSighting:        SightingTopic,
		KindAlert:           AlertTopic,
		KindAlertDecision:   AlertDecisionTopic,
		KindSiteStatus:      SiteStatusTopic,
		KindCameraStatus:    func(r, s string) (string, error) { return CameraStatusTopic(r, s, "cam-1") },
		KindAudit:           AuditTopic,
		KindGalleryAck:      GalleryAckTopic,
		KindGalleryRevision: GalleryRevisionTopic,
		KindHWTest:          HWTestTopic,
		KindResend:          ResendTopic,
		KindGalleryEnrol:    GalleryEnrolTopic,
	}
	if len(builders) != len(Kinds) {
		t.Fatalf("%d builders for %d kinds", len(builders), len(Kinds))
	}
	for k, build := range builders {
		topic, err := build("north", "ik5")
		if err != nil {
			t.Fatalf("%v: %v", k, err)
		}
		parsed, err := ParseTopic(topic)
		if err != nil || parsed.Kind != k {
			t.Fatalf("%v: built %q, parsed as %v, %v", k, topic, parsed.Kind, err)
		}
		if k.Retained() != (k == KindSiteStatus || k == KindCameraStatus) {
			t.Errorf("%v: Retained() = %v", k, k.Retained())
		}
		if k.FromSite() == (k == KindGalleryRevision || k == KindHWTest || k == KindResend) {
			t.Errorf("%v: FromSite() = %v", k, k.FromSite())
		}
		for _, bad := range [][2]string{{"", "ik5"}, {"north", "a/b"}, {"no+rth", "ik5"}, {"north", "ik#"}} {
			if _, err := build(bad[0], bad[1]); err == nil {
				t.Errorf("%v: built a topic from region %q site %q", k, bad[0], bad[1])
			}
		}
	}
	if _, err := CameraStatusTopic("north", "ik5", ""); err == nil || !strings.Contains(err.Error(), "camera: empty") {
		t.Errorf("camera status without camera: %v", err)
	}
	if _, err := (Topic{Kind: KindAudit, Region: "r", Site: "s", Camera: "c"}).Build(); err == nil {
		t.Error("a camera on a kind without a camera level was accepted")
	}
	if _, err := (Topic{Region: "r", Site: "s"}).Build(); err == nil || !strings.Contains(err.Error(), "unknown kind invalid") {
		t.Errorf("kind invalid: %v", err)
	}
}

func TestFilters(t *testing.T) {
	cases := []struct {
		got  func() (string, error)
		want string
	}{
		{func() (string, error) { return SiteFilter("north", "ik5") }, "dozor/v1/north/ik5/#"},
		{func() (string, error) { return KindFilter("north", KindSighting) }, "dozor/v1/north/+/sighting"},
		{func() (string, error) { return KindFilter("north", KindCameraStatus) }, "dozor/v1/north/+/camera/+/status"},
		{func() (string, error) { return KindFilter("+", KindAlertDecision) }, "dozor/v1/+/+/alert/decision"},
		{func() (string, error) { return KindFilter("north", KindHWTest) }, "dozor/v1/north/+/hwtest"},
		{func() (string, error) { return ResendTopic("north", "ik5") }, "dozor/v1/north/ik5/resend"},
		{func() (string, error) { return GalleryEnrolTopic("north", "ik5") }, "dozor/v1/north/ik5/gallery/enrol"},
		{func() (string, error) { return KindFilter("north", KindGalleryEnrol) }, "dozor/v1/north/+/gallery/enrol"},
	}
	for _, tc := range cases {
		got, err := tc.got()
		if err != nil || got != tc.want {
			t.Errorf("got %q, %v; want %q", got, err, tc.want)
		}
	}
	if _, err := SiteFilter("north", "+"); err == nil {
		t.Error("SiteFilter accepted a wildcard site")
	}
	if _, err := KindFilter("#", KindSighting); err == nil {
		t.Error("KindFilter accepted '#' as a region")
	}
	if _, err := KindFilter("north", Kind(99)); err == nil {
		t.Error("KindFilter accepted an unknown kind")
	}
}

// TestTopicsDocExamples decodes every example of TOPICS.md with the topic
// its code fence names, so the documentation cannot drift from the code;
// every kind but the gallery revision (sync/gallerysync's) has one.
// Hardware-test pings are not for the region, so Decode refuses them; their
// example is read with DecodeHWTestPing and held to the topic's site.
func TestTopicsDocExamples(t *testing.T) {
	f, err := os.Open("TOPICS.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const fence = "```json topic="
	var (
		topic string
		body  strings.Builder
		in    bool
		kinds = map[Kind]int{}
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.HasPrefix(line, fence):
			topic, in = strings.TrimPrefix(line, fence), true
			body.Reset()
		case in && line == "```":
			in = false
			k, err := decodeDocExample(topic, []byte(body.String()))
			if err != nil {
				t.Errorf("TOPICS.md example for %s: %v", topic, err)
				continue
			}
			kinds[k]++
		case in:
			body.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds {
		if k != KindGalleryRevision && kinds[k] == 0 {
			t.Errorf("TOPICS.md has no example of %v", k)
		}
	}
}

func decodeDocExample(topic string, data []byte) (Kind, error) {
	t, err := ParseTopic(topic)
	if err != nil {
		return KindInvalid, err
	}
	if t.Kind != KindHWTest {
		m, err := Decode(topic, data, testNow)
		return m.Topic.Kind, err
	}
	p, err := DecodeHWTestPing(data, testNow)
	if err != nil {
		return KindInvalid, err
	}
	if p.Site != t.Site {
		return KindInvalid, fmt.Errorf("site %q on the topic of site %q", p.Site, t.Site)
	}
	return KindHWTest, nil
}
