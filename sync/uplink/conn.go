package uplink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// connParams is what differs between the uplink's own connection and the
// hardware test's (Probe). Everything else (brokers, secrets, TLS, the
// dial, credentials, timeouts and the wording of a refusal) is built by
// connect alone, so that the test checks exactly what the daemon will do.
type connParams struct {
	clientID     string
	cleanSession bool
	// willTopic and willPayload are the last will, published QoS 1 and
	// retained; no will when willTopic is empty.
	willTopic   string
	willPayload []byte
	// attempting, if set, runs once the secrets are read, right before the
	// brokers are tried.
	attempting func()
	// onMessage, if set, receives every message the broker delivers,
	// those it kept in a persistent session included, which arrive before
	// any subscription is renewed.
	onMessage mqtt.MessageHandler
}

// brokerConn is one open MQTT connection.
type brokerConn struct {
	client mqtt.Client
	broker string               // redacted URL of the broker that answered
	tls    *tls.ConnectionState // nil without TLS
	// took is dial, TLS handshake and CONNECT/CONNACK with the broker that
	// answered (earlier brokers that failed are not counted).
	took time.Duration
	// lost is closed when paho reports the connection lost; lostErr says
	// why and may be read only after lost is closed.
	lost    chan struct{}
	lostErr error
}

// close ends the connection with a DISCONNECT unless it is already lost
// (then paho has stopped its workers and there is nothing to say goodbye
// to). A DISCONNECT makes the broker drop the last will.
func (b *brokerConn) close() {
	select {
	case <-b.lost:
	default:
		b.client.Disconnect(250)
	}
}

// connect reads the secrets and opens a connection to the first broker of
// c.Brokers that accepts it. The dial and the CONNECT handshake follow ctx;
// when ctx ends first the error wraps ctx's cause. Refusals are worded for
// the operator (connectError).
func (c Config) connect(ctx context.Context, p connParams) (*brokerConn, error) {
	sec, err := c.loadSecrets()
	if err != nil {
		return nil, err
	}
	if p.attempting != nil {
		p.attempting()
	}
	var (
		mu        sync.Mutex
		conn      net.Conn // the latest connection paho opened, to abort a handshake when ctx ends
		broker    string
		dialStart time.Time
		once      sync.Once
		// certAsked records that the broker asked for a client certificate
		// this configuration does not have: with TLS 1.3 the refusal only
		// shows later as a reset connection, which explains nothing.
		certAsked atomic.Bool
	)
	bc := &brokerConn{lost: make(chan struct{})}

	opts := mqtt.NewClientOptions()
	for _, b := range c.Brokers {
		opts.AddBroker(b)
	}
	opts.SetClientID(p.clientID).
		SetCleanSession(p.cleanSession).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetProtocolVersion(4).
		SetKeepAlive(c.KeepAlive).
		SetPingTimeout(min(c.KeepAlive, 10*time.Second)).
		SetConnectTimeout(c.ConnectTimeout).
		SetWriteTimeout(c.ConnectTimeout).
		SetOrderMatters(true).
		SetResumeSubs(false).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			once.Do(func() { bc.lostErr = err; close(bc.lost) })
		}).
		SetCustomOpenConnectionFn(func(uri *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
			start := time.Now()
			nc, err := c.dial(ctx, uri, sec.tls, &certAsked)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", Redact(uri.String()), err)
			}
			mu.Lock()
			conn, broker, dialStart = nc, Redact(uri.String()), start
			mu.Unlock()
			if ctx.Err() != nil {
				// Cancelled as the dial finished: the hook below may
				// have run before conn was set, and closed nothing.
				nc.Close()
				return nil, fmt.Errorf("%s: %w", Redact(uri.String()), ctx.Err())
			}
			return nc, nil
		})
	if p.onMessage != nil {
		opts.SetDefaultPublishHandler(p.onMessage)
	}
	if p.willTopic != "" {
		opts.SetBinaryWill(p.willTopic, p.willPayload, 1, true)
	}
	if c.Username != "" {
		opts.SetUsername(c.Username)
		opts.SetPassword(sec.password)
	}
	client := mqtt.NewClient(opts)

	// The dial already follows ctx; this also cuts a CONNECT handshake
	// short, so shutting down never waits for ConnectTimeout.
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		if conn != nil {
			conn.Close()
		}
		mu.Unlock()
	})
	tok := client.Connect()
	<-tok.Done() // bounded: paho gives up after ConnectTimeout per broker
	stop()
	if err := tok.Error(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect: %w", context.Cause(ctx))
		}
		if certAsked.Load() {
			err = fmt.Errorf("%w (cert_file, key_file): %w", ErrClientCertRequired, err)
		}
		return nil, c.connectError(err, p.clientID)
	}
	mu.Lock()
	defer mu.Unlock()
	bc.client, bc.broker, bc.took = client, broker, time.Since(dialStart)
	if tc, ok := conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		bc.tls = &st
	}
	return bc, nil
}

func (c Config) dial(ctx context.Context, uri *url.URL, tc *tls.Config, certAsked *atomic.Bool) (net.Conn, error) {
	d := &net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: 15 * time.Second}
	if isTLS(uri.Scheme) {
		if tc == nil {
			return nil, errors.New("no TLS configuration") // cannot happen: loadSecrets builds one for ssl:// brokers
		}
		if len(tc.Certificates) == 0 {
			tc = tc.Clone()
			tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				certAsked.Store(true)
				return &tls.Certificate{}, nil // none: the broker decides
			}
		}
		td := &tls.Dialer{NetDialer: d, Config: tc}
		return td.DialContext(ctx, "tcp", uri.Host)
	}
	return d.DialContext(ctx, "tcp", uri.Host)
}

// Refusals a person has to act on; connect errors wrap them so callers
// (the hardware test) can tell them apart without reading the text.
var (
	ErrBadCredentials     = errors.New("broker refused the credentials")
	ErrNotAuthorised      = errors.New("broker refused the client as not authorised")
	ErrClientIDRejected   = errors.New("broker rejected the client ID")
	ErrClientCertRequired = errors.New("the broker asks for a client certificate and none is configured")
)

// connectError says what a refused connection means for the operator.
func (c Config) connectError(err error, clientID string) error {
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return fmt.Errorf("connect: %w of user %q (check username and password_file): %w", ErrBadCredentials, c.Username, err)
	case errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return fmt.Errorf("connect: %w: user %q (check username, password_file, the client certificate and the broker's ACL): %w", ErrNotAuthorised, c.Username, err)
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return fmt.Errorf("connect: %w %q: %w", ErrClientIDRejected, clientID, err)
	}
	return fmt.Errorf("connect: %w", err)
}
