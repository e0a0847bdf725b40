package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/dozor-edge/dozor/sync/wire"
)

// runWatch subscribes to what sites publish and prints each message in one
// readable line: the quickest way for an installer to see that a box is
// reporting, and the demo's live view. Every message is decoded and
// validated as the region would; one that fails is shown with the reason.
func runWatch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker")
	region := fs.String("region", "+", "region id, or + for all")
	site := fs.String("site", "+", "site id, or + for all")
	username := fs.String("username", "", "MQTT user name")
	passwordFile := fs.String("password-file", "", "file holding the MQTT password")
	count := fs.Int("count", 0, "exit after this many sightings (0: run until interrupted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	filter, err := watchFilter(*region, *site)
	if err != nil {
		return err
	}
	opts := mqtt.NewClientOptions().AddBroker(*broker).
		SetClientID(fmt.Sprintf("dozor-watch-%d", os.Getpid())).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(2 * time.Second)
	if *username != "" {
		pw, err := os.ReadFile(*passwordFile)
		if err != nil {
			return fmt.Errorf("--password-file: %w", err)
		}
		opts.SetUsername(*username).SetPassword(strings.TrimSpace(string(pw)))
	}
	sightings := make(chan struct{}, 64)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		fmt.Fprintf(os.Stderr, "watch: connected to %s, subscribed to %s\n", *broker, filter)
		c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
			if printMessage(m.Topic(), m.Payload(), m.Retained()) {
				select {
				case sightings <- struct{}{}:
				default:
				}
			}
		})
	})
	client := mqtt.NewClient(opts)
	tok := client.Connect()
	select {
	case <-tok.Done():
		if tok.Error() != nil {
			return fmt.Errorf("connect %s: %w", *broker, tok.Error())
		}
	case <-ctx.Done():
		return nil
	}
	defer client.Disconnect(250)
	seen := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sightings:
			seen++
			if *count > 0 && seen >= *count {
				return nil
			}
		}
	}
}

func watchFilter(region, site string) (string, error) {
	for _, s := range []string{region, site} {
		if s == "+" {
			continue
		}
		if err := wire.ValidateSegment(s); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("dozor/v1/%s/%s/#", region, site), nil
}

// printMessage prints one message and reports whether it was a sighting.
func printMessage(topic string, data []byte, retained bool) bool {
	m, err := wire.Decode(topic, data, time.Now())
	if errors.Is(err, wire.ErrNotForRegion) {
		return false // a site talking to itself (hardware test pings, gallery revisions)
	}
	if err != nil {
		fmt.Printf("%s REFUSED %s: %v\n", time.Now().Format("15:04:05"), topic, err)
		return false
	}
	at := func(t time.Time) string { return t.Local().Format("15:04:05") }
	switch p := m.Payload.(type) {
	case wire.Sighting:
		who := p.Person
		if who == "" {
			who = "unknown"
		}
		fmt.Printf("%s sighting #%d  %-20s camera %s track %d  score %.3f margin %.3f  %d frames  quality %.2f  crop %d B\n",
			at(p.LastSeen), p.Seq, who, p.Camera, p.Track, p.Score, p.Margin, p.Frames, p.Quality, len(p.Crop))
		return true
	case wire.Alert:
		fmt.Printf("%s ALERT #%d  %s %s  person %s camera %s zone %s  (sighting %s)\n",
			at(p.At), p.Seq, strings.ToUpper(p.Severity), p.Kind, p.Person, p.Camera, p.Zone, p.Sighting)
	case wire.AlertDecision:
		fmt.Printf("%s decision #%d  alert %s %s\n", time.Now().Format("15:04:05"), p.Seq, p.Alert, p.Decision)
	case wire.SiteStatus:
		fmt.Printf("%s site %s %s  cameras %d/%d  outbox %d%s\n", at(p.At), p.Site, p.State, p.CamerasUp, p.CamerasTotal, p.OutboxDepth, retainedNote(retained))
	case wire.CameraStatus:
		fmt.Printf("%s camera %s %s  %.1f fps %s%s\n", at(p.At), p.Camera, p.State, p.FPS, p.Reason, retainedNote(retained))
	default:
		fmt.Printf("%s %s seq %d\n", time.Now().Format("15:04:05"), m.Topic.Kind, m.Seq())
	}
	return false
}

func retainedNote(r bool) string {
	if r {
		return " (retained)"
	}
	return ""
}
