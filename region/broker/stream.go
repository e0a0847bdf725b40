package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/sync/wire"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream limits: a message leaves the stream after MaxAge, and the stream
// keeps at most MaxBytes (-1: bounded only by JetStream's storage limit).
// The region consumes far faster than this; the limits only bound disk
// use when it cannot.
const (
	StreamMaxAge     = 30 * 24 * time.Hour
	StreamMaxBytes   = -1
	StreamDuplicates = 2 * time.Minute
)

// StreamName is the JetStream stream of a region's site -> region events:
// "DOZOR_" and the region ID with '.' (not allowed in stream names) as '_'.
func StreamName(region string) string {
	return "DOZOR_" + strings.ReplaceAll(region, ".", "_")
}

// StreamSubjects are the subjects of every site -> region kind from every
// site of the region. A '*' matches one whole subject token, and a site ID
// with dots is one token ("ik5//a"), so one '*' matches any site.
func StreamSubjects(region string) []string {
	subs := make([]string, len(siteKinds))
	for i, k := range siteKinds {
		subs[i] = siteSubject(region, "*", k)
	}
	return subs
}

// EnsureStream creates the region's stream, or updates it to this
// configuration: file storage, the given replicas, limits by age and
// bytes, discarding the oldest messages at a limit, and a duplicate
// window for publishers that set Nats-Msg-Id. In a cluster it retries
// while JetStream has no leader yet, until ctx ends.
func EnsureStream(ctx context.Context, js jetstream.JetStream, region string, replicas int) (jetstream.Stream, error) {
	if err := wire.ValidateSegment(region); err != nil {
		return nil, fmt.Errorf("ensure stream: region: %w", err)
	}
	if replicas < 1 || replicas > 5 {
		return nil, fmt.Errorf("ensure stream: replicas: %d, want 1 to 5", replicas)
	}
	cfg := jetstream.StreamConfig{
		Name:        StreamName(region),
		Description: "dozor events from the sites of region " + region,
		Subjects:    StreamSubjects(region),
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      StreamMaxAge,
		MaxBytes:    StreamMaxBytes,
		MaxMsgs:     -1,
		Duplicates:  StreamDuplicates,
	}
	wait := 100 * time.Millisecond
	for {
		// A request JetStream cannot answer yet (no meta leader) gets no
		// reply at all: bound each attempt so the next one can be made.
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s, err := js.CreateOrUpdateStream(actx, cfg)
		cancel()
		if err == nil {
			return s, nil
		}
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no reply within 5s: %w", nats.ErrTimeout)
		}
		if !retryable(err) {
			return nil, fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ensure stream %s: %w (last error: %v)", cfg.Name, ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// retryable reports errors of a JetStream that is not ready yet: a
// cluster still electing its meta leader or learning its peers.
func retryable(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10005, // no suitable peers: the cluster has not met them all yet
			10008, // JetStream system temporarily unavailable: no meta leader
			10009: // JetStream cluster can not handle request
			return true
		}
	}
	return errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders)
}
