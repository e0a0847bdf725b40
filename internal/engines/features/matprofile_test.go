//go:build matprofile

package features

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"gocv.io/x/gocv"
)

// With -tags matprofile gocv counts the Mats not yet closed: extraction
// runs over thousands of photos, so one leaked Mat per photo adds up.
func TestMain(m *testing.M) {
	code := m.Run()
	if n := gocv.MatProfile.Count(); n != 0 {
		var b bytes.Buffer
		gocv.MatProfile.WriteTo(&b, 1)
		fmt.Fprintf(os.Stderr, "FAIL: %d Mat(s) leaked\n%s", n, b.String())
		code = 1
	}
	os.Exit(code)
}
