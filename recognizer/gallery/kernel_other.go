//go:build (!amd64 && !arm64) || purego

package gallery

func kernelName() string { return "go" }

// dots sets out[i] to the dot product of q with row i of the
// quad-interleaved codes; qabs is only used by the amd64 kernel.
func dots(q, qabs []int8, codes []int8, stride int, out []int32) {
	checkDots(q, qabs, codes, stride, out)
	dotsGeneric(q, codes, stride, out)
}
