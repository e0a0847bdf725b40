//go:build amd64 && !purego

package gallery

import "golang.org/x/sys/cpu"

//go:noescape
func dotsAVX2(q, qabs *int8, codes *int8, stride, quads int, out *int32)

// useAVX2 selects the assembly kernel. cpu.X86.HasAVX2 is set only when
// the CPU reports AVX2 and the OS saves the YMM registers, without which
// the instructions fault.
var useAVX2 = cpu.X86.HasAVX2

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
