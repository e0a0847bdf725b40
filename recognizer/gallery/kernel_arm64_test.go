//go:build arm64 && !purego

package gallery

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// refDots is the kernel's contract computed the plainest way: each row is
// read back with getRow and its dot product with q summed in float64, which
// is exact for these magnitudes (every partial sum is an integer below
// 2⁵³), so it checks the quad layout and the arithmetic independently of
// dotsGeneric.
func refDots(q, codes []int8, stride, rows int) []float64 {
	out := make([]float64, rows)
	row := make([]int8, stride)
	for r := range rows {
		getRow(codes, stride, r, row)
		var s float64
		for j := range stride {
			s += float64(q[j]) * float64(row[j])
		}
		out[r] = s
	}
	return out
}

// TestNEONKernelMatchesReference compares the NEON kernel bit for bit with
// dotsGeneric and with the float64 reference, for every stride up to 1024
// and the longest ones, several quad counts, and fills that reach the
// extremes of the int16 pair sums (+127·+127 and +127·−127 in every lane)
// and of the int32 row sums (stride MaxDim).
func TestNEONKernelMatchesReference(t *testing.T) {
	t.Logf("dot kernel: %s", kernelName())
	rng := rand.New(rand.NewPCG(3, 4))
	random := func() int8 { return int8(rng.IntN(255) - 127) }
	sparse := func() int8 {
		if rng.IntN(8) == 0 {
			return random()
		}
		return 0
	}
	extreme := func() int8 { return []int8{-127, 127, 0}[rng.IntN(3)] }
	plus := func() int8 { return 127 }
	minus := func() int8 { return -127 }
	fills := []struct {
		name         string
		query, codes func() int8
	}{
		{"random", random, random},
		{"sparse", sparse, sparse},
		{"extremes", extreme, extreme},
		{"+127 by +127", plus, plus},
		{"-127 by -127", minus, minus},
		{"+127 by -127", plus, minus},
		{"-127 by +127", minus, plus},
	}
	var strides []int
	for s := codeAlign; s <= 1024; s += codeAlign {
		strides = append(strides, s)
	}
	strides = append(strides, 2048, MaxDim)
	for _, f := range fills {
		t.Run(f.name, func(t *testing.T) {
			for _, stride := range strides {
				for _, rows := range []int{0, 4, 8, 12, 36} {
					if stride == MaxDim && rows > 8 {
						continue // the extreme sums need no more rows, and emulation is slow
					}
					// offset shifts the codes off any alignment the
					// allocator gave them: the kernel must not need one.
					for _, offset := range []int{0, 1} {
						checkNEON(t, f.query, f.codes, stride, rows, offset)
					}
				}
			}
		})
	}
}

func checkNEON(t *testing.T, qgen, cgen func() int8, stride, rows, offset int) {
	t.Helper()
	q := make([]int8, stride)
	qabs := make([]int8, stride)
	for j := range q {
		q[j] = qgen()
		qabs[j] = max(q[j], -q[j])
	}
	buf := make([]int8, offset+rows*stride)
	codes := buf[offset:]
	for j := range codes {
		codes[j] = cgen()
	}
	// The sentinel past the end catches a kernel writing more rows than
	// asked for.
	const sentinel = 12345
	want := make([]int32, rows+1)
	got := make([]int32, rows+1)
	want[rows], got[rows] = sentinel, sentinel
	dotsGeneric(q, codes, stride, want[:rows])
	dots(q, qabs, codes, stride, got[:rows])
	ref := refDots(q, codes, stride, rows)
	where := fmt.Sprintf("stride %d, %d rows, offset %d", stride, rows, offset)
	for i := range rows {
		if got[i] != want[i] || float64(got[i]) != ref[i] {
			t.Fatalf("%s: row %d: neon %d, go %d, float64 %v", where, i, got[i], want[i], ref[i])
		}
	}
	if got[rows] != sentinel {
		t.Fatalf("%s: neon wrote past the last row", where)
	}
}

// BenchmarkDots times the dot kernels alone over 100,000 templates of 512
// dimensions, the scan of one search, without the rescoring and ranking
// around it: "neon" is the assembly kernel, "go" the portable one.
func BenchmarkDots(b *testing.B) {
	const rows, stride = 100000, 512
	rng := rand.New(rand.NewPCG(5, 6))
	q := make([]int8, stride)
	qabs := make([]int8, stride)
	for j := range q {
		q[j] = int8(rng.IntN(255) - 127)
		qabs[j] = max(q[j], -q[j])
	}
	codes := make([]int8, rows*stride)
	for j := range codes {
		codes[j] = int8(rng.IntN(255) - 127)
	}
	out := make([]int32, rows)
	b.Run("neon", func(b *testing.B) {
		b.SetBytes(int64(len(codes)))
		for b.Loop() {
			dots(q, qabs, codes, stride, out)
		}
	})
	b.Run("go", func(b *testing.B) {
		b.SetBytes(int64(len(codes)))
		for b.Loop() {
			dotsGeneric(q, codes, stride, out)
		}
	})
}
