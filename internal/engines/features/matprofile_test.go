//go:build matprofile

package features

import (
	"testing"

	"github.com/dozor-edge/dozor/internal/matprofile"
)

// With -tags matprofile the run fails when a Mat is left open: extraction
// runs over thousands of photos, so one leaked Mat per photo adds up.
func TestMain(m *testing.M) { matprofile.Main(m) }
