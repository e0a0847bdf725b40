package uplink

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/dozor-edge/dozor/sync/wire"
)

// TestStatusRepeats: a connected uplink publishes its online status again
// and again, each time with the values of that moment, so a quiet site's
// newest seq reaches the region without a reconnect.
func TestStatusRepeats(t *testing.T) {
	checkLeaks(t)
	b := startBroker(t, brokerConfig{})

	var mu sync.Mutex
	var got []wire.SiteStatus
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + b.addr()).
		SetClientID(fmt.Sprintf("test-status-%d", time.Now().UnixNano()%1e9)).
		SetCleanSession(true).SetAutoReconnect(false).SetProtocolVersion(4)
	sub := mqtt.NewClient(opts)
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	tok := sub.Subscribe("dozor/v1/r1/s1/status", 1, func(_ mqtt.Client, m mqtt.Message) {
		st, err := wire.DecodeSiteStatus(m.Payload(), time.Now())
		if err != nil {
			t.Errorf("status does not decode: %v", err)
			return
		}
		mu.Lock()
		got = append(got, st)
		mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	var last atomic.Uint64
	u, err := New(testConfig("tcp://"+b.addr()), newMemOutbox(), slog.New(slog.DiscardHandler), Options{
		Status: func() wire.SiteStatus { return wire.SiteStatus{LastSeq: last.Add(1)} },
	})
	if err != nil {
		t.Fatal(err)
	}
	u.statusEvery = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()

	online := func() []wire.SiteStatus {
		mu.Lock()
		defer mu.Unlock()
		var out []wire.SiteStatus
		for _, s := range got {
			if s.State == wire.SiteOnline {
				out = append(out, s)
			}
		}
		return out
	}
	ok := waitUntil(20*time.Second, func() bool { return len(online()) >= 3 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if !ok {
		t.Fatalf("%d online statuses in 20s, want at least 3 (the connect's and repeats)", len(online()))
	}
	// Each status was composed afresh: the newest seq grows from one to
	// the next (the will, composed once per connection, took a value too).
	ss := online()
	for i := 1; i < len(ss); i++ {
		if ss[i].LastSeq <= ss[i-1].LastSeq {
			t.Errorf("status %d has last_seq %d after %d; want each repeat composed anew", i, ss[i].LastSeq, ss[i-1].LastSeq)
		}
	}
}
