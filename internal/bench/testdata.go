package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvShared names the environment variable that points at the folder
// holding the shared testdata/ (the Makefile sets it from SHARED).
const EnvShared = "DOZOR_SHARED"

// sharedDir is the development checkout's copy, beside the repository,
// relative to the working directory.
const sharedDir = "../shared"

// DefaultImages are the photos Run is given when none is named, in order
// of preference, relative to testdata/. The first is a 1280x853 photo with
// one face: detection at the default resolution and one embedding, as a
// camera frame with one person costs.
var DefaultImages = []string{"faces/elkie.jpg", "lfw-dev/images/George_Clooney/George_Clooney_0001.jpg"}

// DefaultClip is the clip Latency streams when none is named, relative to
// testdata/; its enrolment photos are in enroll/ beside it.
const DefaultClip = "video/hamilton_wh_short_640x360.mp4"

// TestData returns the absolute path of the first of rels (relative to
// testdata/) that exists under the shared test data: $DOZOR_SHARED/testdata
// when DOZOR_SHARED is set, else ../shared/testdata. The error names every
// path tried.
func TestData(rels ...string) (string, error) {
	root := filepath.Join(sharedDir, "testdata")
	from := sharedDir + " beside the working directory; " + EnvShared + " is not set"
	if env := os.Getenv(EnvShared); env != "" {
		root, from = filepath.Join(env, "testdata"), "$"+EnvShared
	}
	var tried []string
	for _, rel := range rels {
		p := filepath.Join(root, rel)
		if _, err := os.Stat(p); err == nil {
			return filepath.Abs(p)
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("shared test data missing: no %s (looked in %s); set %s to the folder holding testdata/",
		strings.Join(tried, " nor "), from, EnvShared)
}
