//go:build amd64 && !purego

#include "textflag.h"

// func dotsAVX2(q, qabs *int8, codes *int8, stride, quads int, out *int32)
//
// VPMADDUBSW multiplies unsigned by signed bytes, so each template chunk
// takes the sign of the query (VPSIGNB) and is multiplied by |q|. With both
// magnitudes at most 127 a pair sum is at most 32258, so the int16 stage
// never saturates; VPMADDWD by ones widens the pairs to int32. The four
// templates of a quad share each query load and lie next to each other.
TEXT ·dotsAVX2(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ qabs+8(FP), DI
	MOVQ codes+16(FP), BX
	MOVQ stride+24(FP), CX
	MOVQ quads+32(FP), DX
	MOVQ out+40(FP), R8

	MOVL         $0x00010001, AX
	MOVQ         AX, X15
	VPBROADCASTD X15, Y15

quadloop:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	XORQ  AX, AX

chunkloop:
	VMOVDQU    (SI)(AX*1), Y4
	VMOVDQU    (DI)(AX*1), Y5
	VMOVDQU    (BX), Y6
	VMOVDQU    32(BX), Y7
	VMOVDQU    64(BX), Y8
	VMOVDQU    96(BX), Y9
	VPSIGNB    Y4, Y6, Y6
	VPSIGNB    Y4, Y7, Y7
	VPSIGNB    Y4, Y8, Y8
	VPSIGNB    Y4, Y9, Y9
	VPMADDUBSW Y6, Y5, Y6
	VPMADDUBSW Y7, Y5, Y7
	VPMADDUBSW Y8, Y5, Y8
	VPMADDUBSW Y9, Y5, Y9
	VPMADDWD   Y15, Y6, Y6
	VPMADDWD   Y15, Y7, Y7
	VPMADDWD   Y15, Y8, Y8
	VPMADDWD   Y15, Y9, Y9
	VPADDD     Y6, Y0, Y0
	VPADDD     Y7, Y1, Y1
	VPADDD     Y8, Y2, Y2
	VPADDD     Y9, Y3, Y3
	ADDQ       $128, BX
	ADDQ       $32, AX
	CMPQ       AX, CX
	JLT        chunkloop

	// Within each 128-bit lane three horizontal adds leave the four row
	// sums side by side; adding the two lanes finishes them.
	VPHADDD      Y1, Y0, Y0
	VPHADDD      Y3, Y2, Y2
	VPHADDD      Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VMOVDQU      X0, (R8)
	ADDQ         $16, R8
	DECQ         DX
	JNZ          quadloop

	VZEROUPPER
	RET
