package camera

import (
	"testing"
	"time"
)

func TestBackoffDelays(t *testing.T) {
	b := DefaultBackoff
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for n, w := range want {
		if got := b.Delay(n, 0); got != w*time.Second {
			t.Errorf("failure %d: %v, want %v", n, got, w*time.Second)
		}
		lo := time.Duration(float64(w*time.Second) * (1 - b.Jitter))
		if got := b.Delay(n, 0.999999); got < lo || got > w*time.Second {
			t.Errorf("failure %d with jitter: %v outside [%v, %v]", n, got, lo, w*time.Second)
		}
	}
	if got := b.Delay(1<<30, 0.5); got > time.Minute {
		t.Errorf("huge failure count: %v", got)
	}
	if got := b.Delay(3, 7); got < time.Duration(float64(8*time.Second)*(1-b.Jitter)) {
		t.Errorf("random value out of range not clamped: %v", got)
	}
}

func TestBackoffValidate(t *testing.T) {
	for name, b := range map[string]Backoff{
		"zero min":     {Min: 0, Max: time.Second},
		"max < min":    {Min: time.Second, Max: time.Millisecond},
		"jitter 1":     {Min: time.Second, Max: time.Second, Jitter: 1},
		"jitter minus": {Min: time.Second, Max: time.Second, Jitter: -0.1},
	} {
		if b.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := DefaultBackoff.Validate(); err != nil {
		t.Fatal(err)
	}
}
