package hwtest

import (
	"math"
	"testing"
	"time"
)

func TestCameraLoadCost(t *testing.T) {
	l := CameraLoad{DecodeCores: 0.2, AnalysedFPS: 5, FacesPerFrame: 2}
	got := l.Cost(StageTimes{DetectFrame: 40 * time.Millisecond, EmbedFace: 10 * time.Millisecond, MatchFace: time.Millisecond})
	want := StageCosts{Decode: 0.2, Detect: 0.2, Embed: 0.1, Match: 0.01}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(got.Decode, want.Decode) || !near(got.Detect, want.Detect) || !near(got.Embed, want.Embed) ||
		!near(got.Match, want.Match) || got.Other != 0 {
		t.Errorf("Cost = %+v, want %+v", got, want)
	}
	var sum StageCosts
	sum.Add(got)
	sum.Add(StageCosts{Other: 0.09})
	if !near(sum.Total(), 0.6) {
		t.Errorf("Total = %v, want 0.6", sum.Total())
	}
}

func TestLoadVerdict(t *testing.T) {
	for _, tc := range []struct {
		name          string
		needed, cores float64
		want          Verdict
	}{
		{"idle", 0, 2, Pass},
		{"at the warning line", 1.4, 2, Pass},
		{"above it", 1.41, 2, Warn},
		{"all cores", 2, 2, Warn},
		{"beyond", 2.01, 2, Fail},
		{"no cores known", 1, 0, Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LoadVerdict(tc.needed, tc.cores); got != tc.want {
				t.Errorf("LoadVerdict(%v, %v) = %v, want %v", tc.needed, tc.cores, got, tc.want)
			}
		})
	}
}
