//go:build matprofile

package matprofile

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"gocv.io/x/gocv"
)

// Main runs the tests of m and exits, with a failure when any Mat is
// still open at the end. Call it from the package's TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if n := gocv.MatProfile.Count(); n != 0 {
		var b bytes.Buffer
		gocv.MatProfile.WriteTo(&b, 1)
		fmt.Fprintf(os.Stderr, "FAIL: %d Mat(s) leaked\n%s", n, b.String())
		code = 1
	} else {
		fmt.Fprintln(os.Stderr, "matprofile: 0 Mats outstanding")
	}
	os.Exit(code)
}
