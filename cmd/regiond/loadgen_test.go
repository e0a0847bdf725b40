package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dozor-edge/dozor/region/broker"
	"github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/loadgen"
)

// TestLoadgenCommand runs `regiond loadgen` twice: the first adds the
// simulated sites to the sites file; the second, against a NATS node that
// read that file, publishes and reports counts the stream matches exactly.
func TestLoadgenCommand(t *testing.T) {
	dir := t.TempDir()
	sitesFile := filepath.Join(dir, "sites")
	args := []string{"loadgen", "-mqtt", "tcp://127.0.0.1:1", "-region", "north", "-sites", "3", "-sites-file", sitesFile}
	var out, errOut bytes.Buffer
	if code := run(args, &out, &errOut); code != 0 || !strings.Contains(out.String(), "added 3 simulated sites") {
		t.Fatalf("first run: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	list, err := config.ReadSites(sitesFile)
	if err != nil || len(list) != 3 {
		t.Fatalf("sites file: %v, %v", list, err)
	}

	accounts := make([]broker.SiteAccount, len(list))
	for i, s := range list {
		accounts[i] = broker.SiteAccount{Site: s.Site, PasswordHash: s.PasswordHash}
	}
	b, err := broker.Start(broker.Config{Dir: filepath.Join(dir, "js"), Region: "north", MQTTListen: "127.0.0.1:0", NATSListen: "127.0.0.1:0", Sites: accounts})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown()
	nc, err := b.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := broker.EnsureStream(t.Context(), js, "north", 1)
	if err != nil {
		t.Fatal(err)
	}

	args[2] = b.MQTTURL()
	args = append(args, "-rate", "300", "-duration", "1s", "-json")
	out.Reset()
	errOut.Reset()
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	var r loadgen.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if r.Total.Sent != 300 || r.Total.Acked != 300 || r.Sites != 3 {
		t.Fatalf("report: %d sites, sent %d, acked %d; want 3 sites, 300 sent and acked", r.Sites, r.Total.Sent, r.Total.Acked)
	}
	var seqs uint64
	for _, s := range r.Seqs {
		seqs += s
	}
	var statuses uint64
	for _, k := range r.Kinds {
		if k.Kind == "site-status" || k.Kind == "camera-status" {
			statuses += k.Sent
		}
	}
	if seqs+statuses != r.Total.Sent {
		t.Errorf("seqs %d + statuses %d != sent %d", seqs, statuses, r.Total.Sent)
	}
	// The stream captures asynchronously to the PUBACK: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := st.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == r.Total.Sent {
			break
		}
		if info.State.Msgs > r.Total.Sent || time.Now().After(deadline) {
			t.Fatalf("the stream holds %d messages, the report says %d were sent", info.State.Msgs, r.Total.Sent)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The table form names every kind and the total.
	args = append(args[:len(args)-1], "-duration", "200ms")
	out.Reset()
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("table run: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"sighting", "alert-decision", "camera-status", "total", "sent", "acked"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}
