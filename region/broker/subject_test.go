package broker

import "testing"

func TestSubjectTopic(t *testing.T) {
	cases := []struct {
		name, topic, subject string
	}{
		{"plain", "dozor/v1/north/ik5/sighting", "dozor.v1.north.ik5.sighting"},
		{"site with a dot", "dozor/v1/north/ik5.a/sighting", "dozor.v1.north.ik5//a.sighting"},
		{"several dots", "dozor/v1/n.e/a.b.c/camera/gate.1/status", "dozor.v1.n//e.a//b//c.camera.gate//1.status"},
		{"one level", "dozor", "dozor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Subject(c.topic)
			if err != nil || s != c.subject {
				t.Fatalf("Subject(%q) = %q, %v; want %q", c.topic, s, err, c.subject)
			}
			tp, err := Topic(c.subject)
			if err != nil || tp != c.topic {
				t.Fatalf("Topic(%q) = %q, %v; want %q", c.subject, tp, err, c.topic)
			}
		})
	}
}

func TestSubjectTopicRefused(t *testing.T) {
	for _, topic := range []string{"", "/a", "a/", "a//b", "a/+/b", "a/#", "a b", "a/\x7f", "a/*", "a/>"} {
		if s, err := Subject(topic); err == nil {
			t.Errorf("Subject(%q) = %q, want an error", topic, s)
		}
	}
	for _, subject := range []string{"", ".a", "a.", "a..b", "a.*", "a.>", "a/b", "a.b///c", "a b"} {
		if tp, err := Topic(subject); err == nil {
			t.Errorf("Topic(%q) = %q, want an error", subject, tp)
		}
	}
}

func FuzzSubjectTopic(f *testing.F) {
	f.Add("dozor/v1/north/ik5.a/sighting")
	f.Add("a//b")
	f.Fuzz(func(t *testing.T, topic string) {
		s, err := Subject(topic)
		if err != nil {
			return
		}
		back, err := Topic(s)
		if err != nil || back != topic {
			t.Fatalf("Topic(Subject(%q)) = %q, %v", topic, back, err)
		}
	})
}
