//go:build cgo

package monitor

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestSupervisorWork walks the supervisor's and the admin's writes; every
// answer is checked against openapi.json by the client.
func TestSupervisorWork(t *testing.T) {
	e := newEnv(t)
	sup := e.login("supervisor")
	ok := func(status int) func(*http.Response, []byte) []byte {
		return func(resp *http.Response, b []byte) []byte { return expect(t, resp, b, status) }
	}
	b := ok(201)(sup.do("POST", "/api/v1/persons", map[string]any{"id": "P-9", "name": "Pavel Orlov",
		"status": "active", "watch_lists": []string{"escape-risk"}}))
	if !strings.Contains(string(b), `"facility":"ik5"`) {
		t.Errorf("a new person is not held at this site: %s", b)
	}
	ok(409)(sup.do("POST", "/api/v1/persons", map[string]any{"id": "P-9", "name": "Again", "facility": "F-07", "status": "active"}))
	b = ok(200)(sup.do("PUT", "/api/v1/persons/P-9", map[string]any{"name": "Pavel Orlov", "facility": "F-07", "status": "in_transit"}))
	if !strings.Contains(string(b), `"status":"in_transit"`) {
		t.Errorf("update: %s", b)
	}
	b = ok(200)(sup.upload("/api/v1/persons/P-9/photos", "photo", map[string][]byte{"front.png": testPNG(t, 32, 32)}, map[string]string{"camera": "cam-1"}))
	var res struct{ Results []enrolResultView }
	must(t, json.Unmarshal(b, &res))
	if len(res.Results) != 2 || res.Results[0].Status != "enrolled" {
		t.Errorf("enrol: %s", b)
	}
	ok(200)(sup.do("GET", "/api/v1/persons?q=orlov", nil))
	ok(200)(sup.do("GET", "/api/v1/persons/P-9", nil))
	ok(200)(sup.do("PUT", "/api/v1/zones/Z-STAFF", map[string]string{"name": "Staff room", "kind": "staff_only"}))
	b = ok(201)(sup.do("POST", "/api/v1/persons/P-9/permits", map[string]string{"zone_id": "Z-YARD", "window": "mon-fri 08:00-17:00"}))
	var pm permitView
	must(t, json.Unmarshal(b, &pm))
	ok(200)(sup.do("GET", "/api/v1/persons/P-9/permits", nil))
	ok(204)(sup.do("DELETE", "/api/v1/permits/"+itoa(pm.ID), nil))
	ok(200)(sup.do("PUT", "/api/v1/keep-apart", map[string]string{"a": "P-9", "b": "P-1", "reason": "co-defendants"}))
	ok(200)(sup.do("GET", "/api/v1/keep-apart", nil))
	ok(204)(sup.do("DELETE", "/api/v1/keep-apart?a=P-1&b=P-9", nil))
	b = ok(200)(sup.do("PUT", "/api/v1/rules/R-STAFF", map[string]any{"kind": "unknown_in_staff_zone", "name": "Stranger in staff room",
		"severity": "warning", "cooldown": 60, "enabled": true}))
	if !strings.Contains(string(b), `"cooldown":60`) {
		t.Errorf("rule: %s", b)
	}
	ok(400)(sup.do("PUT", "/api/v1/rules/R-BAD", map[string]any{"kind": "nonsense", "name": "x", "severity": "warning"}))
	ok(204)(sup.do("DELETE", "/api/v1/rules/R-STAFF", nil))
	b = ok(200)(sup.do("PUT", "/api/v1/cameras/cam-1/region", map[string]any{"points": [][]float64{{0.1, 0.1}, {0.9, 0.1}, {0.5, 0.9}}}))
	if !strings.Contains(string(b), `"region":[[0.1,0.1],[0.9,0.1],[0.5,0.9]]`) {
		t.Errorf("region: %s", b)
	}
	ok(400)(sup.do("PUT", "/api/v1/cameras/cam-1/region", map[string]any{"points": [][]float64{{0.1, 0.1}, {2, 0}}}))
	ok(200)(sup.do("GET", "/api/v1/cameras/cam-1/snapshot?purpose=enrol", nil))
	ok(404)(sup.do("GET", "/api/v1/cameras/cam-2/snapshot", nil))
	e.recordAlert(3, "P-9")
	ok(200)(sup.do("GET", "/api/v1/sightings?person=P-9", nil))
	ok(200)(sup.do("GET", "/api/v1/cameras/cam-1/sightings", nil))
	b = ok(200)(sup.do("DELETE", "/api/v1/persons/P-9", nil))
	if !strings.Contains(string(b), `"crops":1`) {
		t.Errorf("removal: %s", b)
	}
	ok(200)(sup.do("PATCH", "/api/v1/me", map[string]any{"lang": "ru"}))
	ok(400)(sup.do("PATCH", "/api/v1/me", map[string]any{"password": map[string]string{"old": "wrong one", "new": "another long password"}}))

	adm := e.login("admin")
	ok(201)(adm.do("POST", "/api/v1/users", map[string]string{"name": "night-guard", "role": "guard", "lang": "ru", "password": "a long enough password"}))
	ok(400)(adm.do("POST", "/api/v1/users", map[string]string{"name": "x", "role": "warden", "password": "a long enough password"}))
	ok(200)(adm.do("PUT", "/api/v1/users/night-guard", map[string]any{"disabled": true}))
	ok(409)(adm.do("DELETE", "/api/v1/users/admin", nil))
	ok(204)(adm.do("DELETE", "/api/v1/users/night-guard", nil))
	ok(200)(adm.do("GET", "/api/v1/users", nil))
	ok(200)(e.client().do("GET", "/api/v1/openapi.json", nil))
	if _, _, reloads := e.counts(); reloads == 0 {
		t.Error("no change asked the daemon to reload")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
