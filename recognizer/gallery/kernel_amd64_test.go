//go:build amd64 && !purego

package gallery

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestAVX2KernelMatchesGo compares dots with the Go kernel bit for bit.
// On a CPU without AVX2, dots falls back to the Go kernel and the test
// checks that fallback instead.
func TestAVX2KernelMatchesGo(t *testing.T) {
	t.Logf("dot kernel: %s", kernelName())
	rng := rand.New(rand.NewPCG(1, 2))
	fills := []struct {
		name string
		gen  func() int8
	}{
		{"random", func() int8 { return int8(rng.IntN(255) - 127) }},
		{"all +127", func() int8 { return 127 }},
		{"all -127", func() int8 { return -127 }},
		{"sparse", func() int8 {
			if rng.IntN(8) == 0 {
				return int8(rng.IntN(255) - 127)
			}
			return 0
		}},
		{"extremes", func() int8 { return []int8{-127, 127, 0}[rng.IntN(3)] }},
	}
	for _, f := range fills {
		for _, stride := range []int{32, 64, 128, 512, 640, 2048} {
			for _, rows := range []int{0, 4, 8, 12, 36} {
				t.Run(fmt.Sprintf("%s/stride%d/rows%d", f.name, stride, rows), func(t *testing.T) {
					q := make([]int8, stride)
					qabs := make([]int8, stride)
					for j := range q {
						q[j] = f.gen()
						qabs[j] = q[j]
						if q[j] < 0 {
							qabs[j] = -q[j]
						}
					}
					codes := make([]int8, rows*stride)
					for j := range codes {
						codes[j] = f.gen()
					}
					// The sentinel past the end catches a kernel writing
					// more rows than asked for.
					want := make([]int32, rows+1)
					got := make([]int32, rows+1)
					want[rows], got[rows] = 12345, 12345
					dotsGeneric(q, codes, stride, want[:rows])
					dots(q, qabs, codes, stride, got[:rows])
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("row %d: avx2 %d, go %d", i, got[i], want[i])
						}
					}
				})
			}
		}
	}
}
