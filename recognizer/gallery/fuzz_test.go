package gallery

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
)

// FuzzSearch builds small galleries from arbitrary bytes: New must either
// reject them with a TemplateError or give searches equal to brute force.
func FuzzSearch(f *testing.F) {
	f.Add([]byte{3, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, false)
	f.Add([]byte{40, 5, 9, 200, 17, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 2}, true)
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 0}, false)
	f.Add([]byte{2, 3, 255, 1, 254, 2, 253, 3, 252, 4, 0x7f, 0x80, 0x81}, true)
	f.Fuzz(func(t *testing.T, data []byte, norm bool) {
		if len(data) < 3 {
			return
		}
		dim := 1 + int(data[0])%70
		k := 1 + int(data[1])%12
		data = data[2:]
		// Bytes become small multiples of 1/8; a few values stand for
		// special floats so that validation gets exercised too.
		val := func(b byte) float32 {
			switch b {
			case 0xff:
				return float32(math.NaN())
			case 0xfe:
				return float32(math.Inf(-1))
			case 0xfd:
				return 1e-45
			}
			return float32(int8(b)) / 8
		}
		next := 0
		vec := func() []float32 {
			v := make([]float32, dim)
			for j := range v {
				v[j] = val(data[next%len(data)])
				next++
			}
			return v
		}
		n := 1 + len(data)/dim
		var ts []Template
		for i := range min(n, 40) {
			ts = append(ts, Template{PersonID: fmt.Sprint("p", int(data[i%len(data)])%7), TemplateID: fmt.Sprint(i), Vec: vec()})
		}
		s, err := New(testModel, dim, ts, Options{ScoreNorm: norm, CohortSize: 5})
		if err != nil {
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("New failed without a TemplateError: %v", err)
			}
			return
		}
		queries := [][]float32{vec(), slices.Clone(ts[0].Vec)}
		for _, q := range queries {
			got, err := s.Search(recognizer.Embedding{Model: testModel, Vec: q}, k)
			if err != nil {
				if !errors.Is(err, ErrNotFinite) && !errors.Is(err, ErrZeroNorm) {
					t.Fatalf("unexpected query error: %v", err)
				}
				continue
			}
			if want := bruteForce(s, ts, q, k); !slices.Equal(got, want) {
				t.Fatalf("k %d:\ngot\n%swant\n%s", k, formatMatches(got), formatMatches(want))
			}
		}
	})
}
