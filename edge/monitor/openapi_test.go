package monitor

import (
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIValid: the document loads, validates, and describes every
// API route the server mounts with the same methods.
func TestOpenAPIValid(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	described := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described[method+" /api/v1"+path] = true
		}
	}
	s := &Server{}
	mounted := map[string]bool{}
	for _, rt := range s.routes() {
		if rt.Page || rt.Pattern[:min(len(rt.Pattern), 8)] != "/api/v1/" {
			continue
		}
		key := rt.Method + " " + rt.Pattern
		mounted[key] = true
		if !described[key] {
			t.Errorf("%s is not in openapi.json", key)
		}
	}
	for key := range described {
		if !mounted[key] {
			t.Errorf("openapi.json describes %s, which is not mounted", key)
		}
	}
}
