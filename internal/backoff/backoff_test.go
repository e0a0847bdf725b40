package backoff

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

func TestDelay(t *testing.T) {
	camera := Policy{Min: time.Second, Max: time.Minute, Jitter: 0.2}
	uplink := Policy{Min: time.Second, Max: time.Minute, Jitter: 0.5}
	cases := []struct {
		name string
		p    Policy
		n    int
		r    float64
		want time.Duration
	}{
		{"first failure, no jitter drawn", camera, 0, 0, time.Second},
		{"doubles", camera, 3, 0, 8 * time.Second},
		{"capped at max", camera, 6, 0, time.Minute},
		{"stays at max", camera, 1000, 0, time.Minute},
		{"huge failure count", camera, math.MaxInt, 0, time.Minute},
		{"full jitter takes a fifth off", camera, 6, 1, 48 * time.Second},
		{"half jitter", camera, 6, 0.5, 54 * time.Second},
		{"uplink: half off at most", uplink, 0, 1, 500 * time.Millisecond},
		{"uplink at max", uplink, 10, 0.5, 45 * time.Second},
		{"r above 1 clamped", uplink, 0, 7, 500 * time.Millisecond},
		{"r below 0 clamped", uplink, 0, -3, time.Second},
		{"no jitter", Policy{Min: 100 * time.Millisecond, Max: 400 * time.Millisecond}, 1, 0.9, 200 * time.Millisecond},
		{"min equals max", Policy{Min: time.Second, Max: time.Second, Jitter: 0.2}, 5, 0, time.Second},
		{"max that doubling would overflow", Policy{Min: time.Second, Max: math.MaxInt64}, 100, 0, math.MaxInt64},
		{"max not a power-of-two multiple", Policy{Min: 3 * time.Second, Max: 10 * time.Second}, 2, 0, 10 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.Delay(c.n, c.r); got != c.want {
				t.Errorf("Delay(%d, %v) = %v, want %v", c.n, c.r, got, c.want)
			}
		})
	}
}

// TestDelayBounds: every draw lies in [(1-Jitter)·d, d].
func TestDelayBounds(t *testing.T) {
	p := Policy{Min: time.Second, Max: time.Minute, Jitter: 0.2}
	for n, d := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60} {
		d *= time.Second
		lo := time.Duration(float64(d) * (1 - p.Jitter))
		for _, r := range []float64{0, 0.25, 0.5, 0.999999} {
			if got := p.Delay(n, r); got < lo || got > d {
				t.Errorf("Delay(%d, %v) = %v, outside [%v, %v]", n, r, got, lo, d)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		p    Policy
		ok   bool
	}{
		{"camera default", Policy{Min: time.Second, Max: time.Minute, Jitter: 0.2}, true},
		{"no jitter", Policy{Min: time.Second, Max: time.Second}, true},
		{"zero min", Policy{Min: 0, Max: time.Second}, false},
		{"negative min", Policy{Min: -time.Second, Max: time.Second}, false},
		{"max below min", Policy{Min: time.Second, Max: time.Millisecond}, false},
		{"jitter 1", Policy{Min: time.Second, Max: time.Second, Jitter: 1}, false},
		{"negative jitter", Policy{Min: time.Second, Max: time.Second, Jitter: -0.1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.p.Validate(); (err == nil) != c.ok {
				t.Errorf("Validate() = %v, want ok %v", err, c.ok)
			}
		})
	}
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if !Sleep(t.Context(), 3*time.Second) {
			t.Fatal("Sleep ended early with ctx alive")
		}
		if waited := time.Since(start); waited != 3*time.Second {
			t.Errorf("waited %v, want 3s", waited)
		}

		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		start = time.Now()
		if Sleep(ctx, time.Minute) {
			t.Fatal("Sleep reported a full wait after cancellation")
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("cancelled after %v, want 1s", waited)
		}

		if Sleep(ctx, time.Minute) {
			t.Fatal("Sleep with an ended ctx waited")
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("Sleep with an ended ctx took %v", waited)
		}
	})
}
