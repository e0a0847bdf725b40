//go:build arm64 && !purego

#include "textflag.h"

// func dotsNEON(q *int8, codes *int8, stride, quads int, out *int32)
//
// For each 32-byte chunk the query is loaded once (V0, V1) and the chunk of
// the four templates of the quad (V2..V9, row r in V(2+2r) and V(3+2r))
// follows it in memory. SMULL multiplies the low eight bytes into int16 and
// SMLAL2 adds the products of the high eight bytes, so each int16 lane
// holds the sum of two products. Every code is in [-127, 127], so such a
// sum is at most 2·127² = 32258 in magnitude and cannot overflow; a third
// product could, which is why SADALP then adds adjacent int16 lanes into
// the int32 accumulators right away. An accumulator lane gains at most
// 4·127² per chunk, and a whole row sum at most MaxDim·127² < 2³¹.
//
// Each row has two accumulators (V16..V23), one per half of the chunk, and
// the eight multiplies, eight multiply-adds and eight pairwise adds are
// issued as groups of independent instructions, which keeps in-order cores
// such as the Cortex-A53 from waiting on one result after another.
//
// Go's assembler has no SMULL, SMLAL2 or SADALP, so they are written as
// WORD with the instruction in the comment.
TEXT ·dotsNEON(SB), NOSPLIT, $0-40
	MOVD q+0(FP), R0
	MOVD codes+8(FP), R1
	MOVD stride+16(FP), R2
	MOVD quads+24(FP), R3
	MOVD out+32(FP), R4

quadloop:
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	MOVD R0, R5 // query cursor
	MOVD R2, R6 // bytes of the row left

chunkloop:
	VLD1.P 32(R5), [V0.B16, V1.B16]
	VLD1.P 64(R1), [V2.B16, V3.B16, V4.B16, V5.B16]
	VLD1.P 64(R1), [V6.B16, V7.B16, V8.B16, V9.B16]

	WORD $0x0e22c018 // SMULL  V24.8H, V0.8B, V2.8B
	WORD $0x0e23c039 // SMULL  V25.8H, V1.8B, V3.8B
	WORD $0x0e24c01a // SMULL  V26.8H, V0.8B, V4.8B
	WORD $0x0e25c03b // SMULL  V27.8H, V1.8B, V5.8B
	WORD $0x0e26c01c // SMULL  V28.8H, V0.8B, V6.8B
	WORD $0x0e27c03d // SMULL  V29.8H, V1.8B, V7.8B
	WORD $0x0e28c01e // SMULL  V30.8H, V0.8B, V8.8B
	WORD $0x0e29c03f // SMULL  V31.8H, V1.8B, V9.8B

	WORD $0x4e228018 // SMLAL2 V24.8H, V0.16B, V2.16B
	WORD $0x4e238039 // SMLAL2 V25.8H, V1.16B, V3.16B
	WORD $0x4e24801a // SMLAL2 V26.8H, V0.16B, V4.16B
	WORD $0x4e25803b // SMLAL2 V27.8H, V1.16B, V5.16B
	WORD $0x4e26801c // SMLAL2 V28.8H, V0.16B, V6.16B
	WORD $0x4e27803d // SMLAL2 V29.8H, V1.16B, V7.16B
	WORD $0x4e28801e // SMLAL2 V30.8H, V0.16B, V8.16B
	WORD $0x4e29803f // SMLAL2 V31.8H, V1.16B, V9.16B

	WORD $0x4e606b10 // SADALP V16.4S, V24.8H
	WORD $0x4e606b31 // SADALP V17.4S, V25.8H
	WORD $0x4e606b52 // SADALP V18.4S, V26.8H
	WORD $0x4e606b73 // SADALP V19.4S, V27.8H
	WORD $0x4e606b94 // SADALP V20.4S, V28.8H
	WORD $0x4e606bb5 // SADALP V21.4S, V29.8H
	WORD $0x4e606bd6 // SADALP V22.4S, V30.8H
	WORD $0x4e606bf7 // SADALP V23.4S, V31.8H

	SUBS $32, R6, R6
	BNE  chunkloop

	// Fold each row's two accumulators, then two rounds of pairwise adds
	// leave the four row sums in V16 in row order.
	VADD  V17.S4, V16.S4, V16.S4
	VADD  V19.S4, V18.S4, V18.S4
	VADD  V21.S4, V20.S4, V20.S4
	VADD  V23.S4, V22.S4, V22.S4
	VADDP V18.S4, V16.S4, V16.S4
	VADDP V22.S4, V20.S4, V20.S4
	VADDP V20.S4, V16.S4, V16.S4
	VST1.P [V16.S4], 16(R4)

	SUBS $1, R3, R3
	BNE  quadloop
	RET
