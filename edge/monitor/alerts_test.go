//go:build cgo

package monitor

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAlertDesk(t *testing.T) {
	e := newEnv(t)
	id := e.recordAlert(1, "P-1")
	g1, g2 := e.login("guard"), e.login("guard2")
	path := "/api/v1/alerts/" + id

	resp, b := g1.do("GET", "/api/v1/alerts", nil)
	var list struct{ Alerts []alertView }
	must(t, json.Unmarshal(expect(t, resp, b, http.StatusOK), &list))
	if len(list.Alerts) != 1 || list.Alerts[0].Sighting.Name != "Ivan Petrov" || list.Alerts[0].Kind != "watch_list" ||
		list.Alerts[0].RuleName != "Escape risk" || !list.Alerts[0].Sighting.HasCrop {
		t.Fatalf("open alerts: %s", b)
	}

	resp, b = g1.do("POST", path+"/ack", `{}`)
	var a alertView
	must(t, json.Unmarshal(expect(t, resp, b, http.StatusOK), &a))
	if a.AcknowledgedBy != "guard" || a.AcknowledgedAt == nil {
		t.Errorf("after ack: %s", b)
	}
	resp, b = g1.do("POST", path+"/ack", nil)
	expect(t, resp, b, http.StatusOK) // the same account again is fine
	resp, b = g2.do("POST", path+"/ack", `{}`)
	expect(t, resp, b, http.StatusConflict)
	resp, b = g2.do("POST", path+"/decision", map[string]string{"decision": "rejected", "reason": "not him"})
	expect(t, resp, b, http.StatusConflict)

	resp, b = g1.do("POST", path+"/decision", map[string]string{"decision": "confirmed", "reason": ""})
	expect(t, resp, b, http.StatusBadRequest)
	if f := errBody(t, b).Field; f != "reason" {
		t.Errorf("field %q, want reason", f)
	}
	resp, b = g1.do("POST", path+"/decision", map[string]string{"decision": "maybe", "reason": "x"})
	expect(t, resp, b, http.StatusBadRequest)

	resp, b = g1.do("POST", path+"/decision", map[string]string{"decision": "confirmed", "reason": "checked on the camera"})
	must(t, json.Unmarshal(expect(t, resp, b, http.StatusOK), &a))
	if a.State != "confirmed" || a.Decision == nil || a.Decision.By != "guard" || a.Decision.Reason != "checked on the camera" {
		t.Errorf("after decision: %s", b)
	}
	resp, b = g1.do("POST", path+"/decision", map[string]string{"decision": "rejected", "reason": "again"})
	expect(t, resp, b, http.StatusConflict)
	resp, b = g2.do("POST", path+"/ack", `{}`)
	expect(t, resp, b, http.StatusConflict)

	resp, b = g1.do("GET", "/api/v1/alerts?state=all", nil)
	must(t, json.Unmarshal(expect(t, resp, b, http.StatusOK), &list))
	if len(list.Alerts) != 1 || list.Alerts[0].State != "confirmed" {
		t.Errorf("all alerts: %s", b)
	}

	aud := e.login("auditor")
	resp, b = aud.do("GET", "/api/v1/audit?action=alert.decide", nil)
	var entries struct{ Entries []auditView }
	must(t, json.Unmarshal(expect(t, resp, b, http.StatusOK), &entries))
	if len(entries.Entries) != 1 || entries.Entries[0].Actor != "guard" || entries.Entries[0].Object != "alert:"+id {
		t.Errorf("decision audit: %s", b)
	}
	resp, b = aud.do("GET", "/api/v1/audit/verify", nil)
	var v verifyView
	must(t, json.Unmarshal(expect(t, resp, b, http.StatusOK), &v))
	if !v.OK || v.Entries == 0 {
		t.Errorf("verify: %s", b)
	}
	// The crop and the person's photos are biometric reads, audited.
	resp, b = g1.do("GET", "/api/v1/sightings/"+a.Sighting.ID+"/crop", nil)
	expect(t, resp, b, http.StatusOK)
	resp, b = aud.do("GET", "/api/v1/audit?action=crop.read", nil)
	must(t, json.Unmarshal(expect(t, resp, b, http.StatusOK), &entries))
	if len(entries.Entries) != 1 || entries.Entries[0].Actor != "guard" {
		t.Errorf("crop audit: %s", b)
	}
}

// sse reads server-sent events from a response.
type sse struct {
	r    *bufio.Reader
	resp *http.Response
}

func (c *client) events(ctx context.Context) *sse {
	c.e.t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", c.e.http.URL+"/api/v1/events", nil)
	must(c.e.t, err)
	resp, err := c.hc.Do(req)
	must(c.e.t, err)
	if resp.StatusCode != http.StatusOK {
		c.e.t.Fatalf("events: %d", resp.StatusCode)
	}
	c.e.t.Cleanup(func() { resp.Body.Close() })
	return &sse{r: bufio.NewReader(resp.Body), resp: resp}
}

// next returns the next event's type and data, skipping comments.
func (s *sse) next(t testing.TB) (string, string) {
	t.Helper()
	var typ, data string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && typ != "":
			return typ, data
		case strings.HasPrefix(line, "event: "):
			typ = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		}
	}
}

func TestEventsLive(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g1, g2 := e.login("guard"), e.login("guard2")
	stream := g2.events(ctx)

	// The first opens a stream and never reads it.
	g1.events(ctx)

	id := e.recordAlert(1, "P-1")
	e.events.Publish(Event{Type: EventAlert, ID: id})
	typ, data := stream.next(t)
	var a alertView
	must(t, json.Unmarshal([]byte(data), &a))
	if typ != EventAlert || a.ID != id || a.Sighting.Person != "P-1" {
		t.Fatalf("got %s %s", typ, data)
	}
	// Publishing never waits for the stalled stream: far more events
	// than any buffer go out, and the reading stream still gets the
	// acknowledgement's update.
	for range 5000 {
		e.events.Publish(Event{Type: EventCamera, Camera: "cam-1"})
	}
	resp, b := g1.do("POST", "/api/v1/alerts/"+id+"/ack", `{}`)
	expect(t, resp, b, http.StatusOK)
	for {
		typ, data = stream.next(t)
		if typ == EventAlertUpdate {
			break
		}
		if typ != EventCamera && typ != "lost" {
			t.Fatalf("unexpected %s %s", typ, data)
		}
	}
	must(t, json.Unmarshal([]byte(data), &a))
	if a.AcknowledgedBy != "guard" {
		t.Errorf("update: %s", data)
	}
	// A stream without a session is refused.
	resp, b = e.client().do("GET", "/api/v1/events", nil)
	expect(t, resp, b, http.StatusUnauthorized)
}
