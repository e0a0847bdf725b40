//go:build amd64 && !purego

package gallery

// The x/sys/cpu package is not a dependency of this module, so AVX2 support
// is probed directly: the CPU must report AVX2 and the OS must have enabled
// saving of the YMM registers, or the instructions fault.
func cpuid(leaf, sub uint32) (a, b, c, d uint32)

func xgetbv0() (lo, hi uint32)

//go:noescape
func dotsAVX2(q, qabs *int8, codes *int8, stride, quads int, out *int32)

var useAVX2 = detectAVX2()

func detectAVX2() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if c1&osxsave == 0 || c1&avx == 0 {
		return false
	}
	if lo, _ := xgetbv0(); lo&6 != 6 {
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<5) != 0
}

// kernelName says which dot kernel this process uses; benchmarks log it.
func kernelName() string {
	if useAVX2 {
		return "avx2"
	}
	return "go"
}

// dots sets out[i] to the dot product of q with row i of the
// quad-interleaved codes. qabs holds |q| byte for byte: the AVX2 multiply
// takes one unsigned operand, so the query's magnitude goes there and its
// sign is moved onto the template.
func dots(q, qabs []int8, codes []int8, stride int, out []int32) {
	checkDots(q, qabs, codes, stride, out)
	if len(out) == 0 {
		return
	}
	if !useAVX2 {
		dotsGeneric(q, codes, stride, out)
		return
	}
	dotsAVX2(&q[0], &qabs[0], &codes[0], stride, len(out)/quad, &out[0])
}
