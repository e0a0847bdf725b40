package hwtest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/hwtest"
	"github.com/dozor-edge/dozor/hw"
	"github.com/dozor-edge/dozor/internal/mosquitto"
	"github.com/dozor-edge/dozor/internal/testenv"
)

// TestUplinkTLSAndCredentials checks the uplink section through the
// configuration a box really has: an ssl:// broker with a CA file, a user
// and a password file. The right settings pass; a wrong password, a CA
// that did not sign the broker and a missing password file each fail with
// the fix that names the setting to correct.
func TestUplinkTLSAndCredentials(t *testing.T) {
	dir := t.TempDir()
	k := testenv.NewPKI(t, "ik5")

	passwd := filepath.Join(dir, "passwd")
	tool, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Fatalf("mosquitto_passwd (package mosquitto, installed by scripts/deps.sh): %v", err)
	}
	if out, err := exec.Command(tool, "-c", "-b", passwd, "ik5", "right-horse").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	broker, err := mosquitto.Start(dir, mosquitto.Options{PasswordFile: passwd,
		Listener: "cafile " + k.CAFile + "\ncertfile " + k.ServerCert + "\nkeyfile " + k.ServerKey + "\n"})
	if err != nil {
		t.Fatalf("mosquitto: %v", err)
	}
	t.Cleanup(func() { broker.Stop(0) })
	secret := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	right, wrong := secret("right.pass", "right-horse\n"), secret("wrong.pass", "battery-staple\n")

	cases := []struct {
		name            string
		ca, pass        string
		verdict         hwtest.Verdict
		value, fix      string
		roundTripPassed bool
	}{
		{"right settings", k.CAFile, right, hwtest.Pass, "TLS 1.3", "", true},
		{"wrong password", k.CAFile, wrong, hwtest.Fail, "ik5", "uplink.username", false},
		{"wrong CA", k.OtherCA, right, hwtest.Fail, "certificate", "uplink.ca_file", false},
		{"missing password file", k.CAFile, filepath.Join(dir, "absent.pass"), hwtest.Fail, "password_file", "password file", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Site.Region, cfg.Site.ID = "north", "ik5"
			cfg.Models.Dir = testenv.ModelDir(t)
			cfg.Store.Path = filepath.Join(t.TempDir(), "dozor.db")
			cfg.Uplink.Broker = "ssl://" + broker.Addr()
			cfg.Uplink.Username, cfg.Uplink.PasswordFile, cfg.Uplink.CAFile = "ik5", c.pass, c.ca
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := hwtest.Run(ctx, cfg, hwtest.Options{Roots: hw.Roots{Proc: "../../hw/testdata/x86-vm/proc", Sys: "../../hw/testdata/x86-vm/sys"},
				WriteBytes: -1, Pings: 3, SpeedBudget: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			b, ok := find(rep, "uplink", "broker")
			if !ok {
				t.Fatalf("no broker check: %+v", rep.Checks)
			}
			if b.Verdict != c.verdict || !strings.Contains(b.Value, c.value) || !strings.Contains(b.Fix, c.fix) {
				t.Errorf("broker: %s %q fix %q; want %s with %q and fix %q", b.Verdict, b.Value, b.Fix, c.verdict, c.value, c.fix)
			}
			rt, ok := find(rep, "uplink", "round trip")
			if ok != c.roundTripPassed || ok && rt.Verdict != hwtest.Pass {
				t.Errorf("round trip: %v %+v", ok, rt)
			}
			if strings.Contains(b.Value+b.Fix, "right-horse") || strings.Contains(b.Value+b.Fix, "battery-staple") {
				t.Error("a password leaked into the report")
			}
		})
	}
}
