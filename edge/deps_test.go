package edge_test

import (
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/edge"
	"github.com/dozor-edge/dozor/edge/config"
)

func TestInvalidConfigIsRefused(t *testing.T) {
	cfg := config.Defaults()
	cfg.Site.ID = "bad/site"
	if _, err := edge.New(cfg, edge.Deps{}); err == nil || !strings.Contains(err.Error(), "site.id") {
		t.Fatalf("New: %v; want an error naming site.id", err)
	}
}

// The collaborators that link C libraries are the caller's to build; a
// daemon without them is refused at New, naming each one missing, rather
// than failing somewhere in Run.
func TestMissingDepsAreRefused(t *testing.T) {
	_, err := edge.New(config.Defaults(), edge.Deps{})
	if err == nil {
		t.Fatal("New accepted a daemon without a store, engines or decoders")
	}
	for _, name := range []string{"Deps.OpenStore", "Deps.NewEngine", "Deps.Decoders"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("New: %v; want it to name %s", err, name)
		}
	}
}
