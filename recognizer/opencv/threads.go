package opencv

// #cgo !windows pkg-config: opencv4
// #cgo CXXFLAGS: --std=c++11
// #include "threads.h"
import "C"

// SetNumThreads sets OpenCV's worker thread count for this process (DNN
// forward passes, resizes). 0 restores OpenCV's default (all cores). The
// bench uses it to compare one core with all of them.
func SetNumThreads(n int) { C.dozor_set_num_threads(C.int(n)) }

// NumThreads returns OpenCV's current worker thread count.
func NumThreads() int { return int(C.dozor_get_num_threads()) }
