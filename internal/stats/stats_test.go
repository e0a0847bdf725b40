package stats

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	oneToTen := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	cases := []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{"median of an even count", oneToTen, 0.5, 5.5},
		{"p90 interpolates", oneToTen, 0.9, 9.1},
		{"p0 is the minimum", oneToTen, 0, 1},
		{"p100 is the maximum", oneToTen, 1, 10},
		{"median of an odd count", []float64{3, 1, 2}, 0.5, 2},
		{"unsorted input", []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, 0.9, 9.1},
		{"one value", []float64{7}, 0.99, 7},
		{"empty", nil, 0.9, 0},
		{"p below 0 clamps", oneToTen, -1, 1},
		{"p above 1 clamps", oneToTen, 2, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Percentile(c.xs, c.p); math.Abs(got-c.want) > 1e-9 {
				t.Errorf("Percentile(%v, %v) = %v, want %v", c.xs, c.p, got, c.want)
			}
		})
	}
}

func TestPercentileLeavesInputAlone(t *testing.T) {
	xs := []int{5, 1, 4, 2, 3}
	orig := slices.Clone(xs)
	if got := Percentile(xs, 0.5); got != 3 {
		t.Errorf("median %d, want 3", got)
	}
	if !slices.Equal(xs, orig) {
		t.Errorf("input reordered: %v", xs)
	}
}

func TestPercentileDurations(t *testing.T) {
	ds := []time.Duration{4 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}
	if got, want := Percentile(ds, 0.5), 2500*time.Microsecond; got != want {
		t.Errorf("median %v, want %v", got, want)
	}
}
