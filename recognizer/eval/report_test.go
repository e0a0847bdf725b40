package eval

import (
	"encoding/json"
	"slices"
	"testing"
)

func keysOf(t *testing.T, r Report) map[string]any {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var (
	verifyKeys = []string{"pairs", "folds", "accuracy_mean", "accuracy_std", "accuracy_stderr", "threshold",
		"tar_at_far_1e-3", "threshold_at_far_1e-3", "far_resolution", "auc", "no_face_pairs"}
	identifyKeys = []string{"probes_genuine", "probes_impostor", "no_face_probes", "no_face_probes_by_kind", "rank1",
		"fnir_at_fpir_0.01", "threshold_at_fpir_0.01", "fnir_at_fpir_0.1", "threshold_at_fpir_0.1", "fpir_resolution"}
)

func TestReport(t *testing.T) {
	pa, sa := build(verifyCases[2].pairs, "FF") // the no-face case: 3 pairs without a face
	pb, sb := build(verifyCases[1].pairs, "FP")
	v, err := Verify(append(pa, pb...), append(sa, sb...), 2)
	if err != nil {
		t.Fatal(err)
	}
	id, err := Identify(probeSet())
	if err != nil {
		t.Fatal(err)
	}
	// A perfect identification result must still report FNIR 0.
	perfect, err := Identify([]Probe{
		{TrueID: "A", Genuine: true, Candidates: cands("A", 0.75)},
		{Candidates: cands("A", 0.25)},
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		v       *VerifyResult
		id      *IdentifyResult
		present []string
		absent  []string
		noFace  float64
	}{
		{"verification only", &v, nil, append(slices.Clone(verifyKeys), "no_face", "subsets"), identifyKeys, 3},
		{"identification only", nil, &id, append(slices.Clone(identifyKeys), "no_face"), append(slices.Clone(verifyKeys), "subsets"), 2},
		{"both", &v, &id, append(append(slices.Clone(verifyKeys), identifyKeys...), "no_face", "subsets"), nil, 5},
		{"perfect", nil, &perfect, identifyKeys, verifyKeys, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := keysOf(t, NewReport(tc.v, tc.id))
			for _, k := range tc.present {
				if _, ok := m[k]; !ok {
					t.Errorf("key %q missing from %v", k, m)
				}
			}
			for _, k := range tc.absent {
				if _, ok := m[k]; ok {
					t.Errorf("key %q present", k)
				}
			}
			if m["no_face"] != tc.noFace {
				t.Errorf("no_face = %v, want %v", m["no_face"], tc.noFace)
			}
		})
	}

	m := keysOf(t, NewReport(&v, &id))
	if m["accuracy_mean"] != v.AccuracyMean || m["tar_at_far_1e-3"] != v.TARAtFAR1e3 || m["rank1"] != 0.5 ||
		m["fnir_at_fpir_0.01"] != 0.75 || m["threshold_at_fpir_0.01"] != id.AtFPIR1pct.Threshold {
		t.Errorf("values do not round-trip: %v", m)
	}
	subs := m["subsets"].(map[string]any)
	ff := subs["FF"].(map[string]any)
	if ff["accuracy_mean"] != 0.875 || ff["no_face"] != 3.0 || ff["pairs"] != 8.0 {
		t.Errorf("FF subset %v", ff)
	}
	if _, ok := ff["rank1"]; ok {
		t.Errorf("identification key in a subset")
	}
	if pm := keysOf(t, NewReport(nil, &perfect)); pm["fnir_at_fpir_0.01"] != 0.0 {
		t.Errorf("perfect FNIR reported as %v", pm["fnir_at_fpir_0.01"])
	}
	if len(keysOf(t, NewReport(nil, nil))) != 0 {
		t.Errorf("empty report has keys")
	}
}
