//go:build matprofile

package opencv

import (
	"testing"

	"github.com/dozor-edge/dozor/internal/matprofile"
)

// With -tags matprofile the run fails when a Mat is left open: a leaked
// Mat per frame is a box that runs out of memory after a few days.
func TestMain(m *testing.M) { matprofile.Main(m) }
