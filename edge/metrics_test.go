package edge

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestExposition(t *testing.T) {
	h := newHistogram([]float64{0.01, 0.1})
	for _, v := range []float64{0.005, 0.05, 0.05, 3} {
		h.Observe(v)
	}
	var c counter
	c.Add(7)
	var buf bytes.Buffer
	err := expose(&buf, []family{
		{name: "b_seconds", help: "stage time", typ: "histogram", hists: []labelledHist{{labels: [][2]string{{"stage", "detect"}}, h: h}}},
		{name: "a_total", help: "a \"count\"\nof things", typ: "counter", samples: []sample{{labels: [][2]string{{"camera", `gate "1"`}}, value: float64(c.Load())}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `# HELP a_total a "count"\nof things
# TYPE a_total counter
a_total{camera="gate \"1\""} 7
# HELP b_seconds stage time
# TYPE b_seconds histogram
b_seconds_bucket{stage="detect",le="0.01"} 1
b_seconds_bucket{stage="detect",le="0.1"} 3
b_seconds_bucket{stage="detect",le="+Inf"} 4
b_seconds_sum{stage="detect"} 3.105
b_seconds_count{stage="detect"} 4
`
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if strings.Count(want, "# TYPE") != 2 {
		t.Fatal("bad test")
	}
}

func TestEveryAggregates(t *testing.T) {
	var buf bytes.Buffer
	e := newEvery(slog.New(slog.NewTextHandler(&buf, nil)), slog.LevelError, "decode errors", time.Hour)
	for i := range 37 {
		e.Note(fmt.Sprintf("error %d", i))
	}
	e.Tick() // the period has not passed: nothing more
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines for 37 errors within the period:\n%s", n, buf.String())
	}
	e.Flush()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "count=36") || !strings.Contains(lines[1], `last="error 36"`) {
		t.Fatalf("summary line wrong:\n%s", buf.String())
	}
}
