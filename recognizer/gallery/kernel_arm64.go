//go:build arm64 && !purego

package gallery

// dotsNEON is the Advanced SIMD (NEON) kernel of kernel_arm64.s. It uses
// only ARMv8.0 instructions: the dot-product extension (SDOT) is missing on
// the Cortex-A53 and A72 class of cores that many boxes have, and Go's arm64
// port already requires the base Advanced SIMD set (its memmove and bytealg
// routines use it unconditionally), so no feature check is needed.
//
//go:noescape
func dotsNEON(q *int8, codes *int8, stride, quads int, out *int32)

// kernelName says which dot kernel this process uses; benchmarks log it.
func kernelName() string { return "neon" }

// dots sets out[i] to the dot product of q with row i of the
// quad-interleaved codes. The NEON multiply is signed on both sides, so
// qabs, which only the amd64 kernel needs, is left unused.
func dots(q, qabs []int8, codes []int8, stride int, out []int32) {
	checkDots(q, qabs, codes, stride, out)
	if len(out) == 0 {
		return
	}
	dotsNEON(&q[0], &codes[0], stride, len(out)/quad, &out[0])
}
