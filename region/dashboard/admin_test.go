package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/region/store"
)

// errorBody is the JSON form of every error answer.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// TestAccountManagement walks the admin's account changes through the
// API: each bad input refused with the field it names, the last enabled
// admin kept, and each change seen in the store.
func TestAccountManagement(t *testing.T) {
	st := &memStore{users: map[string]store.User{}}
	ctx := context.Background()
	if err := AddUser(ctx, st, "root", RoleAdmin, "en", testPassword); err != nil {
		t.Fatal(err)
	}
	s, err := New(Deps{Store: st, Events: NewHub(), Region: "north"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c, csrf := client(t, srv.URL, "root")

	do := func(method, path, body, token string) (int, errorBody) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e errorBody
		if resp.StatusCode >= 400 {
			json.NewDecoder(resp.Body).Decode(&e)
		}
		return resp.StatusCode, e
	}
	user := func(name string) store.User {
		t.Helper()
		u, err := st.User(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	pw := `"password":"` + testPassword + `"`

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"bad name", "POST", "/users", `{"name":"a b","role":"operator",` + pw + `}`, 400, "name"},
		{"bad role", "POST", "/users", `{"name":"anna","role":"warden",` + pw + `}`, 400, "role"},
		{"bad lang", "POST", "/users", `{"name":"anna","role":"operator","lang":"de",` + pw + `}`, 400, "lang"},
		{"short password", "POST", "/users", `{"name":"anna","role":"operator","password":"short"}`, 400, "password"},
		{"unknown field", "POST", "/users", `{"name":"anna","role":"operator",` + pw + `,"admin":true}`, 400, "admin"},
		{"two values", "POST", "/users", `{"name":"anna","role":"operator",` + pw + `}{}`, 400, ""},
		{"add", "POST", "/users", `{"name":"anna","role":"operator",` + pw + `}`, 201, ""},
		{"add twice", "POST", "/users", `{"name":"anna","role":"auditor",` + pw + `}`, 409, "name"},
		{"change missing", "PUT", "/users/nobody", `{"lang":"en"}`, 404, ""},
		{"change bad role", "PUT", "/users/anna", `{"role":"warden"}`, 400, "role"},
		{"change bad password", "PUT", "/users/anna", `{"password":"aaaaaaaaaaaaaa"}`, 400, "password"},
		{"demote the last admin", "PUT", "/users/root", `{"role":"operator"}`, 409, "role"},
		{"disable the last admin", "PUT", "/users/root", `{"disabled":true}`, 409, "disabled"},
		{"delete the last admin", "DELETE", "/users/root", ``, 409, "name"},
		{"delete missing", "DELETE", "/users/nobody", ``, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, e := do(tc.method, tc.path, tc.body, csrf)
			if got != tc.status || e.Field != tc.field {
				t.Fatalf("%s %s: %d field %q (%s), want %d field %q", tc.method, tc.path, got, e.Field, e.Error, tc.status, tc.field)
			}
		})
	}
	if got, _ := do("PUT", "/users/anna", `{"disabled":true}`, ""); got != http.StatusForbidden {
		t.Fatalf("a change without the CSRF token: %d, want 403", got)
	}
	if u := user("anna"); u.Role != RoleOperator || u.Lang != "ru" || u.Disabled {
		t.Fatalf("anna after the refusals: %+v", u)
	}

	old := user("anna").PasswordHash
	if got, e := do("PUT", "/users/anna", `{"role":"admin","lang":"en","password":"another good secret"}`, csrf); got != 200 {
		t.Fatalf("change anna: %d %s", got, e.Error)
	}
	if u := user("anna"); u.Role != RoleAdmin || u.Lang != "en" || u.PasswordHash == old {
		t.Fatalf("anna after the change: %+v", u)
	}
	// With anna an enabled admin, root may be disabled and enabled again.
	if got, e := do("PUT", "/users/anna", `{"disabled":true}`, csrf); got != 200 {
		t.Fatalf("disable anna: %d %s", got, e.Error)
	}
	if got, _ := do("DELETE", "/users/root", ``, csrf); got != http.StatusConflict {
		t.Fatalf("delete root with anna disabled: %d, want 409", got)
	}
	if got, e := do("PUT", "/users/anna", `{"disabled":false}`, csrf); got != 200 || user("anna").Disabled {
		t.Fatalf("enable anna: %d %s", got, e.Error)
	}
	if got, e := do("DELETE", "/users/anna", ``, csrf); got != http.StatusNoContent {
		t.Fatalf("delete anna: %d %s", got, e.Error)
	}
	if _, err := st.User(ctx, "anna"); err == nil {
		t.Fatal("anna is still in the store")
	}
}
