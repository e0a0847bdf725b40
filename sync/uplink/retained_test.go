package uplink

import (
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/sync/wire"
)

func cameraTopic(t *testing.T, camera string) string {
	t.Helper()
	topic, err := wire.CameraStatusTopic(testRegion, testSite, camera)
	if err != nil {
		t.Fatal(err)
	}
	return topic
}

// camerasOf returns the camera status messages about camera.
func camerasOf(rs []received, camera string) []received {
	var out []received
	for _, r := range rs {
		if r.camera.Camera == camera {
			out = append(out, r)
		}
	}
	return out
}

func cameraPayload(t *testing.T, camera, state, reason string, fps float64) []byte {
	t.Helper()
	b, err := wire.Encode(wire.CameraStatus{Site: testSite, Camera: camera, State: state, Reason: reason, FPS: fps, At: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// latestCamera returns the last camera status received for camera.
func latestCamera(rs []received, camera string) (received, bool) {
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].camera.Camera == camera {
			return rs[i], true
		}
	}
	return received{}, false
}

// TestRetainedStates: states set before the first connect arrive after it,
// only the latest of each topic; a change replaces the state; a broker
// restart (which, without persistence, forgets every retained message)
// is followed by the latest states again, retained for a late subscriber;
// outbox traffic stays in order and complete throughout.
func TestRetainedStates(t *testing.T) {
	checkLeaks(t)
	const backlog, live = 50, 100
	b := startBroker(t, brokerConfig{})
	p := startProxy(t, b.addr(), true)
	sub := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/#", "", "")
	ob := backlogOutbox(t, backlog)
	gate1, gate2 := cameraTopic(t, "gate-1"), cameraTopic(t, "gate-2")

	// Kept out until the states are set.
	p.setOpen(false)
	u := runUplink(t, testConfig("tcp://"+p.addr()), ob, p)
	for _, st := range []struct {
		topic, camera, state, reason string
		fps                          float64
	}{
		{gate1, "gate-1", wire.CameraDown, "connecting", 0},
		{gate2, "gate-2", wire.CameraDown, "unreachable", 0},
		{gate1, "gate-1", wire.CameraUp, "", 5}, // replaces the first before anything was sent
	} {
		if err := u.SetRetained(st.topic, cameraPayload(t, st.camera, st.state, st.reason, st.fps)); err != nil {
			t.Fatalf("SetRetained(%s): %v", st.topic, err)
		}
	}
	if st := u.Stats(); st.States != 2 || st.StatesPublished != 0 {
		t.Errorf("stats before connecting: states %d, published %d", st.States, st.StatesPublished)
	}
	p.setOpen(true)

	stopLive := make(chan struct{})
	liveDone := make(chan struct{})
	go func() { // outbox traffic while the states change
		defer close(liveDone)
		produce(t, u, ob, live, stopLive)
	}()
	defer func() { close(stopLive); <-liveDone }()

	if !waitUntil(10*time.Second, func() bool { return len(sub.cameras()) >= 2 }) {
		t.Fatalf("camera statuses after connecting: %d; stats %+v", len(sub.cameras()), u.Stats())
	}
	if r, _ := latestCamera(sub.cameras(), "gate-1"); r.camera.State != wire.CameraUp || r.camera.FPS != 5 {
		t.Errorf("gate-1 after connecting: %+v, want the latest state (up, 5 fps)", r.camera)
	}
	if r, _ := latestCamera(sub.cameras(), "gate-2"); r.camera.State != wire.CameraDown || r.camera.Reason != "unreachable" {
		t.Errorf("gate-2 after connecting: %+v", r.camera)
	}

	// A change replaces the state; the same payload again sends nothing.
	degraded := cameraPayload(t, "gate-1", wire.CameraDegraded, "frozen", 1.5)
	if err := u.SetRetained(gate1, degraded); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(10*time.Second, func() bool {
		r, _ := latestCamera(sub.cameras(), "gate-1")
		return r.camera.State == wire.CameraDegraded
	}) {
		t.Fatalf("gate-1 change not received; got %d camera statuses", len(sub.cameras()))
	}
	// gate-2's state set again (a new time) after gate-1's unchanged one
	// is published with it or after it: once gate-2's arrives, the count
	// shows whether gate-1's went out too.
	published := u.Stats().StatesPublished
	gate2Before := len(camerasOf(sub.cameras(), "gate-2"))
	if err := u.SetRetained(gate1, degraded); err != nil {
		t.Fatal(err)
	}
	if err := u.SetRetained(gate2, cameraPayload(t, "gate-2", wire.CameraDown, "unreachable", 0)); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(10*time.Second, func() bool { return len(camerasOf(sub.cameras(), "gate-2")) > gate2Before }) {
		t.Fatalf("gate-2's new state not received; stats %+v", u.Stats())
	}
	if n := u.Stats().StatesPublished; n != published+1 {
		t.Errorf("%d states published for one changed and one unchanged; the unchanged one went out again", n-published)
	}
	late := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/camera/+/status", "", "")
	if !waitUntil(5*time.Second, func() bool { return len(late.cameras()) >= 2 }) {
		t.Fatalf("late subscriber: %d camera statuses", len(late.cameras()))
	}
	if r, _ := latestCamera(late.cameras(), "gate-1"); !r.retained || r.camera.State != wire.CameraDegraded {
		t.Errorf("late subscriber, gate-1: retained %v %+v; want the retained degraded state", r.retained, r.camera)
	}

	// Invalid topics and payloads are refused and change nothing.
	other, _ := wire.CameraStatusTopic(testRegion, "s2", "gate-1")
	otherRegion, _ := wire.CameraStatusTopic("r2", testSite, "gate-1")
	siteStatus, _ := wire.SiteStatusTopic(testRegion, testSite)
	sighting, _ := wire.Topic{Kind: wire.KindSighting, Region: testRegion, Site: testSite}.Build()
	for _, bad := range []struct {
		topic   string
		payload []byte
		want    string
	}{
		{other, degraded, `site "s2"`},
		{otherRegion, degraded, `region "r2"`},
		{siteStatus, degraded, "uplink's own"},
		{sighting, degraded, "not retained"},
		{"dozor/v1/r1/s1/camera/gate-1", degraded, "retained"},
		{"elsewhere/status", degraded, "retained"},
		{gate1, make([]byte, wire.MaxPayloadLen+1), "larger than"},
	} {
		err := u.SetRetained(bad.topic, bad.payload)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("SetRetained(%q, %d bytes) = %v, want an error with %q", bad.topic, len(bad.payload), err, bad.want)
		}
	}
	if n := u.Stats().States; n != 2 {
		t.Errorf("%d states after refused calls, want 2", n)
	}

	// The broker dies and forgets everything; a state set meanwhile
	// replaces the one it had.
	p.setOpen(false)
	b.stop(syscall.SIGKILL)
	if !waitUntil(5*time.Second, func() bool { return !u.Stats().Connected }) {
		t.Fatal("the uplink still says connected 5s after the broker died")
	}
	if err := u.SetRetained(gate1, cameraPayload(t, "gate-1", wire.CameraDown, "disconnected", 0)); err != nil {
		t.Fatal(err)
	}
	b.restart()
	sub.reconnect(b.addr())
	p.setOpen(true)
	if !waitUntil(30*time.Second, func() bool { return u.Stats().Connects >= 2 }) {
		t.Fatalf("no reconnect after 30s: %+v", u.Stats())
	}
	after := newSubscriber(t, b.addr(), "dozor/v1/+/+/camera/+/status", "", "")
	if !waitUntil(10*time.Second, func() bool { return len(after.cameras()) >= 2 }) {
		t.Fatalf("after the restart a new subscriber got %d camera statuses; stats %+v", len(after.cameras()), u.Stats())
	}
	if r, _ := latestCamera(after.cameras(), "gate-1"); !r.retained || r.camera.State != wire.CameraDown || r.camera.Reason != "disconnected" {
		t.Errorf("after the restart, gate-1: retained %v %+v; want the state set during the outage", r.retained, r.camera)
	}
	if r, _ := latestCamera(after.cameras(), "gate-2"); !r.retained || r.camera.Reason != "unreachable" {
		t.Errorf("after the restart, gate-2: retained %v %+v", r.retained, r.camera)
	}
	if r, ok := latestCamera(sub.cameras(), "gate-1"); !ok || r.camera.Reason != "disconnected" {
		t.Errorf("the region's subscriber did not get gate-1's latest state after the restart: %+v", r.camera)
	}

	// The outbox is untouched by all this: every seq, in order, nothing
	// marked sent before its PUBACK.
	<-liveDone
	total := backlog + live
	if !waitUntil(30*time.Second, func() bool { return len(firstCopies(sub.seqs())) >= total && ob.unsent() == 0 }) {
		t.Fatalf("after 30s: %d of %d distinct seqs, %d unsent; stats %+v", len(firstCopies(sub.seqs())), total, ob.unsent(), u.Stats())
	}
	checkSequence(t, sub.seqs(), total)
	if n := u.early.Load(); n != 0 {
		t.Errorf("%d messages marked sent before the broker acknowledged them", n)
	}
	st := u.Stats()
	if st.Sent < uint64(total) || st.LastSentSeq != uint64(total) || st.Skipped != 0 {
		t.Errorf("outbox stats: %+v", st)
	}
	t.Logf("%d camera statuses to the region's subscriber, %d state publishes, %d outbox messages in order across a broker restart",
		len(sub.cameras()), st.StatesPublished, total)
}

// TestStateSetAtStop: a state set just before the stop (the daemon marks
// its cameras stopped, then stops the uplink) reaches the broker before
// the goodbye, every time, though the stop and the change arrive together.
func TestStateSetAtStop(t *testing.T) {
	checkLeaks(t)
	const rounds = 10
	b := startBroker(t, brokerConfig{})
	gate1 := cameraTopic(t, "gate-1")
	for i := range rounds {
		ob := newMemOutbox()
		u := runUplink(t, testConfig("tcp://"+b.addr()), ob, nil)
		if !waitUntil(10*time.Second, func() bool { return u.Stats().Connected }) {
			t.Fatalf("round %d: not connected; stats %+v", i+1, u.Stats())
		}
		for range 20 {
			ob.add(testMessage(t))
		}
		payload := cameraPayload(t, "gate-1", wire.CameraDown, "stopped", float64(i+1))
		// One P: the uplink's loop wakes for the outbox but cannot run
		// until the change and the stop have both been signalled, so when
		// it next waits it finds both ready, as on a busy box.
		procs := runtime.GOMAXPROCS(1)
		u.Notify()
		err := u.SetRetained(gate1, payload)
		u.cancel()
		runtime.GOMAXPROCS(procs)
		if err != nil {
			t.Fatal(err)
		}
		u.stop(t)
		late := newSubscriber(t, b.addr(), gate1, "", "")
		if !waitUntil(5*time.Second, func() bool { return len(late.cameras()) > 0 }) {
			t.Fatalf("round %d: no retained state for gate-1", i+1)
		}
		if r := late.cameras()[0]; !r.retained || r.camera.FPS != float64(i+1) {
			t.Fatalf("round %d: retained gate-1 %+v (retained %v); want the state set just before the stop", i+1, r.camera, r.retained)
		}
	}
}
