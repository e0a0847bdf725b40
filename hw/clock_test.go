package hw

import (
	"runtime"
	"testing"
	"time"
)

func TestClockSyncFrom(t *testing.T) {
	cases := []struct {
		name   string
		state  int
		status int32
		want   ClockSync
	}{
		{"synced", 0, 0x2001, ClockSync{Synced: true, MaxError: 1500 * time.Microsecond, EstError: 40 * time.Microsecond, Status: "TIME_OK"}},
		{"unsync flag", 0, 0x0040, ClockSync{MaxError: 1500 * time.Microsecond, EstError: 40 * time.Microsecond, Status: "TIME_OK"}},
		{"time error", 5, 0x2001, ClockSync{MaxError: 1500 * time.Microsecond, EstError: 40 * time.Microsecond, Status: "TIME_ERROR"}},
		{"leap second pending", 1, 0x0011, ClockSync{Synced: true, MaxError: 1500 * time.Microsecond, EstError: 40 * time.Microsecond, Status: "TIME_INS"}},
		{"unknown state", 9, 0, ClockSync{Synced: true, MaxError: 1500 * time.Microsecond, EstError: 40 * time.Microsecond, Status: "unknown state"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := clockSyncFrom(c.state, c.status, 1500, 40); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestReadClockSyncHere(t *testing.T) {
	cs, err := ReadClockSync()
	if runtime.GOOS != "linux" {
		if err == nil {
			t.Fatal("want an unsupported error off Linux")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if cs.Status == "" || cs.MaxError < 0 || cs.EstError < 0 {
		t.Errorf("odd answer %+v", cs)
	}
	t.Logf("%+v", cs)
}
