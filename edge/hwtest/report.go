package hwtest

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Verdict is the outcome of one check.
type Verdict string

const (
	Pass Verdict = "PASS"
	Warn Verdict = "WARN" // works, but something will cost accuracy, speed or data
	Fail Verdict = "FAIL" // this box will not recognise faces as configured
)

// rank orders verdicts so the worst one wins.
func (v Verdict) rank() int {
	switch v {
	case Fail:
		return 2
	case Warn:
		return 1
	}
	return 0
}

// worst returns the worse of two verdicts.
func worst(a, b Verdict) Verdict {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Check is one line of the report.
type Check struct {
	// Section groups checks: "box", "models", "camera <id>", "uplink",
	// "capacity".
	Section string `json:"section"`
	// Name is what was checked ("memory", "face size").
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	// Value is what was measured, for people ("4 cores, AVX2").
	Value string `json:"value"`
	// Fix says what to do; set for every WARN and FAIL.
	Fix string `json:"fix,omitempty"`
}

// Report is everything one run found. The JSON form is for machines (the
// region's commissioning records); its keys are stable.
type Report struct {
	Version  string         `json:"version"`
	Host     string         `json:"host"`
	Started  time.Time      `json:"started"`
	Duration time.Duration  `json:"duration_ns"`
	Verdict  Verdict        `json:"verdict"`
	Checks   []Check        `json:"checks"`
	Box      BoxReport      `json:"box"`
	Models   ModelsReport   `json:"models"`
	Cameras  []CameraReport `json:"cameras"`
	Uplink   UplinkReport   `json:"uplink"`
	Capacity CapacityReport `json:"capacity"`
}

// add appends a check; a WARN or FAIL without a fix is a bug in this
// package, so it is made visible rather than hidden.
func (r *Report) add(c Check) {
	if c.Verdict != Pass && c.Fix == "" {
		c.Fix = "(no fix recorded)"
	}
	r.Checks = append(r.Checks, c)
	r.Verdict = worst(r.Verdict, c.Verdict)
}

// Counts returns how many checks ended with each verdict.
func (r *Report) Counts() (pass, warn, fail int) {
	for _, c := range r.Checks {
		switch c.Verdict {
		case Pass:
			pass++
		case Warn:
			warn++
		case Fail:
			fail++
		}
	}
	return
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the PASS / WARN / FAIL table for a terminal: the
// verdict first so a column of them can be scanned, the measured value
// wrapped beside the check, and under each WARN or FAIL the fix.
func (r *Report) WriteTable(w io.Writer) error {
	const width = 100
	sw, nw := 0, 0
	for _, c := range r.Checks {
		sw = max(sw, utf8.RuneCountInString(c.Section))
		nw = max(nw, utf8.RuneCountInString(c.Name))
	}
	indent := 4 + 2 + sw + 2 + nw + 2
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	for _, c := range r.Checks {
		lines := wrap(c.Value, max(30, width-indent))
		if len(lines) == 0 {
			lines = []string{""}
		}
		fmt.Fprintf(&b, "%-4s  %-*s  %-*s  %s\n", c.Verdict, sw, c.Section, nw, c.Name, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "%s%s\n", pad, l)
		}
		for i, l := range wrap(c.Fix, max(30, width-indent-5)) {
			if i == 0 {
				fmt.Fprintf(&b, "%sfix: %s\n", pad, l)
			} else {
				fmt.Fprintf(&b, "%s     %s\n", pad, l)
			}
		}
	}
	p, wn, f := r.Counts()
	fmt.Fprintf(&b, "\n%s: %d passed, %d warnings, %d failed (%s)\n", r.Verdict, p, wn, f, r.Duration.Round(time.Second))
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap breaks s into lines of at most n runes at spaces.
func wrap(s string, n int) []string {
	var lines []string
	var cur []string
	l := 0
	for _, word := range strings.Fields(s) {
		wl := utf8.RuneCountInString(word)
		if l > 0 && l+1+wl > n {
			lines = append(lines, strings.Join(cur, " "))
			cur, l = nil, 0
		}
		if l > 0 {
			l++
		}
		cur = append(cur, word)
		l += wl
	}
	if len(cur) > 0 {
		lines = append(lines, strings.Join(cur, " "))
	}
	return lines
}
