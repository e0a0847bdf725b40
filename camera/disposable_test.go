package camera

import "testing"

func TestDisposable(t *testing.T) {
	sps1 := []byte{0x42, 0x01, 0x01} // H.265 SPS: one temporal sub-layer
	sps3 := []byte{0x42, 0x01, 0x05} // three sub-layers
	h265 := func(typ, tid byte) []byte { return []byte{typ << 1, tid + 1, 0xaf} }
	for _, tc := range []struct {
		name  string
		c     Codec
		au    [][]byte
		sps   []byte
		want  bool
		about string
	}{
		{"h264 non-reference slice", H264, [][]byte{{0x01, 0x9e}}, nil, true, "nal_ref_idc 0"},
		{"h264 with SEI and delimiter", H264, [][]byte{{0x09, 0x10}, {0x06, 0x05}, {0x01, 0x9e}, {0x01, 0x9f}}, nil, true, "every slice non-reference"},
		{"h264 reference slice", H264, [][]byte{{0x21, 0x9a}}, nil, false, "nal_ref_idc 1"},
		{"h264 mixed slices", H264, [][]byte{{0x01, 0x9e}, {0x41, 0x9a}}, nil, false, "one slice is referenced"},
		{"h264 IDR", H264, [][]byte{{0x65, 0x88}}, nil, false, "IDR"},
		{"h264 no slice", H264, [][]byte{{0x09, 0x10}, {0x06, 0x05}}, nil, false, "no picture"},
		{"h264 empty NAL", H264, [][]byte{{}}, nil, false, "malformed"},
		{"h265 TRAIL_N", H265, [][]byte{h265(0, 0)}, sps1, true, "sub-layer non-reference, one sub-layer"},
		{"h265 RASL_N", H265, [][]byte{h265(35, 0), h265(8, 0)}, sps1, true, "AUD then RASL_N"},
		{"h265 TRAIL_R", H265, [][]byte{h265(1, 0)}, sps1, false, "reference"},
		{"h265 TRAIL_N, several sub-layers", H265, [][]byte{h265(0, 0)}, sps3, false, "a higher sub-layer may refer to it"},
		{"h265 TRAIL_N, SPS unknown", H265, [][]byte{h265(0, 0)}, nil, false, "sub-layers unknown"},
		{"h265 CRA", H265, [][]byte{h265(21, 0)}, sps1, false, "random access"},
		{"h265 reserved non-VCL only", H265, [][]byte{h265(39, 0)}, sps1, false, "no picture"},
		{"unknown codec", Codec("VP8"), [][]byte{{0x01}}, nil, false, "not H.264/H.265"},
	} {
		if got := disposable(tc.c, tc.au, tc.sps); got != tc.want {
			t.Errorf("%s (%s): disposable = %v, want %v", tc.name, tc.about, got, tc.want)
		}
	}
}

// The sampling grid is left where it is by the check made before
// decoding: a picture notDue refuses is one due refuses too.
func TestNotDueAgreesWithDue(t *testing.T) {
	tr, _ := newTestTrack(t, H264, nil, 5, 640)
	iv := tr.interval
	for _, pts := range []int64{0, iv / 5, iv - iv/50 - 1, iv - iv/50, iv, 3 * iv / 2, 5 * iv, -3 * iv} {
		before := tr.nextShot
		nd := tr.notDue(pts)
		if tr.nextShot != before {
			t.Fatalf("notDue(%d) moved the grid", pts)
		}
		if d := tr.due(pts); nd && d {
			t.Errorf("pts %d: notDue and due both true", pts)
		}
	}
	if tr.notDue(1 << 40) {
		t.Error("a jump ahead is due (the grid restarts), not refused")
	}
}
