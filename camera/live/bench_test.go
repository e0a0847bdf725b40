package live_test

import (
	"fmt"
	"testing"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/live"
)

// BenchmarkHub repackages the 1080p clip, looped, for 0, 1 and 4 viewers
// that read everything: the cost per access unit (ns/op) on the camera's
// packet goroutine.
func BenchmarkHub(b *testing.B) {
	c, us := units(b, clip1080, 0)
	size := 0
	for _, u := range us {
		for _, n := range u.NALUs {
			size += len(n)
		}
	}
	period := int64(c.Period.Seconds() * camera.ClockRate)
	for _, viewers := range []int{0, 1, 4} {
		b.Run(fmt.Sprintf("viewers=%d", viewers), func(b *testing.B) {
			h := live.NewHub("bench", nil)
			subs := make([]*live.Sub, viewers)
			for i := range subs {
				subs[i] = h.Subscribe(8)
				defer subs[i].Close()
			}
			b.SetBytes(int64(size / len(us)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				u := us[i%len(us)]
				u.PTS += int64(i/len(us)) * period
				h.WriteAccessUnit(u)
				for _, s := range subs {
					for len(s.C()) > 0 {
						<-s.C()
					}
				}
				i++
			}
			if st := h.Stats(); st.Drops != 0 || st.Errors != 0 {
				b.Fatalf("stats %+v", st)
			}
		})
	}
}
