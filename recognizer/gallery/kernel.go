package gallery

// Quantised templates are stored in quads: four consecutive templates
// interleaved in codeAlign-byte chunks (chunk 0 of rows 0..3, then chunk 1 of
// rows 0..3, ...). A scan then reads memory strictly sequentially, which the
// hardware prefetcher follows; reading four separate rows at once leaves
// each row too short for it to lock on and costs about three times the time
// at 100k templates.
//
// Every code is in [-127, 127], so a product is at most 127² and a row sum
// fits in int32 for any dimension up to MaxDim. Integer sums are exact and
// order-independent, so the assembly and Go kernels must agree bit for bit.

const (
	codeAlign = 32 // bytes per chunk: one AVX2 register
	quad      = 4  // templates interleaved together
)

// putRow stores row r of a quad-interleaved matrix with the given stride.
func putRow(codes []int8, stride, r int, row []int8) {
	base := (r / quad) * quad * stride
	lane := (r % quad) * codeAlign
	for j := 0; j < stride; j += codeAlign {
		copy(codes[base+j*quad+lane:base+j*quad+lane+codeAlign], row[j:j+codeAlign])
	}
}

// getRow copies row r out of a quad-interleaved matrix.
func getRow(codes []int8, stride, r int, row []int8) {
	base := (r / quad) * quad * stride
	lane := (r % quad) * codeAlign
	for j := 0; j < stride; j += codeAlign {
		copy(row[j:j+codeAlign], codes[base+j*quad+lane:base+j*quad+lane+codeAlign])
	}
}

// dotsGeneric sets out[i] to the dot product of q with row i of the
// quad-interleaved codes; len(out) is a multiple of quad. Each query byte is
// loaded once for the four rows of a quad, and the fixed chunk length lets
// the compiler drop the bounds checks from the inner loop.
func dotsGeneric(q []int8, codes []int8, stride int, out []int32) {
	q = q[:stride]
	for g := 0; g+quad <= len(out); g += quad {
		block := codes[g*stride : (g+quad)*stride]
		var s0, s1, s2, s3 int32
		for j := 0; j < stride; j += codeAlign {
			qc := q[j : j+codeAlign]
			chunk := block[j*quad : (j+codeAlign)*quad]
			c0 := chunk[0*codeAlign : 1*codeAlign]
			c1 := chunk[1*codeAlign : 2*codeAlign]
			c2 := chunk[2*codeAlign : 3*codeAlign]
			c3 := chunk[3*codeAlign : 4*codeAlign]
			for x := range codeAlign {
				v := int32(qc[x])
				s0 += v * int32(c0[x])
				s1 += v * int32(c1[x])
				s2 += v * int32(c2[x])
				s3 += v * int32(c3[x])
			}
		}
		out[g], out[g+1], out[g+2], out[g+3] = s0, s1, s2, s3
	}
}

// checkDots panics when a kernel call would read or write out of bounds;
// the assembly kernel trusts its arguments.
func checkDots(q, qabs []int8, codes []int8, stride int, out []int32) {
	if stride <= 0 || stride%codeAlign != 0 || len(out)%quad != 0 ||
		len(q) < stride || len(qabs) < stride || len(codes) < len(out)*stride {
		panic("gallery: dot kernel called with inconsistent sizes")
	}
}
