//go:build matprofile

package opencv

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"gocv.io/x/gocv"
)

// With -tags matprofile gocv counts every Mat it creates and has not yet
// closed. The whole test run must end at zero: a leaked Mat per frame is
// a box that runs out of memory after a few days.
func TestMain(m *testing.M) {
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
