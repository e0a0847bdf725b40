package enroll

import (
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/enrolcheck"
)

// DefaultThreshold returns the look-alike threshold measured for a model
// (see enrolcheck.DefaultThreshold).
func DefaultThreshold(m recognizer.ModelID) (float32, bool) { return enrolcheck.DefaultThreshold(m) }
