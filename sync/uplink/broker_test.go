package uplink

import (
	"bufio"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/internal/mosquitto"
)

// brokerConfig is what a test broker needs beyond a plain listener.
type brokerConfig struct {
	passwordFile string // enables authentication on every listener
	// TLS listener (the main port) with require_certificate when set.
	caFile, certFile, keyFile string
	// plainPort adds a second, plain listener (for a test's subscriber
	// next to a TLS listener).
	plainPort bool
	// aclFile is a mosquitto ACL file (acl_file) for every listener.
	aclFile string
}

// broker is a private mosquitto on 127.0.0.1 with persistence off (see
// internal/mosquitto); the tests need a real one and fail (never skip)
// without it.
type broker struct {
	t *testing.T
	b *mosquitto.Broker
}

func startBroker(t *testing.T, bc brokerConfig) *broker {
	t.Helper()
	opt := mosquitto.Options{
		PasswordFile: bc.passwordFile,
		// Verbose logging, and unlimited in-flight messages towards
		// subscribers: the broker writes each message to the subscriber
		// at once instead of queuing it in memory, where a broker crash
		// would lose it.
		Extra: "log_type notice\nlog_type information\nconnection_messages true\n" +
			"max_inflight_messages 0\nmax_queued_messages 100000\n",
	}
	if bc.aclFile != "" {
		opt.Extra += "acl_file " + bc.aclFile + "\n"
	}
	if bc.certFile != "" {
		opt.Listener = fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\ntls_version tlsv1.2\n",
			bc.caFile, bc.certFile, bc.keyFile)
	}
	if bc.plainPort {
		opt.PlainListeners = 1
	}
	mb, err := mosquitto.Start(t.TempDir(), opt)
	if err != nil {
		t.Fatalf("these tests need a real MQTT broker: %v", err)
	}
	t.Cleanup(func() {
		mb.Stop(syscall.SIGTERM)
		if t.Failed() {
			log := mb.Log()
			if len(log) > 6000 {
				log = log[len(log)-6000:]
			}
			t.Logf("mosquitto log (tail):\n%s", log)
		}
	})
	return &broker{t: t, b: mb}
}

func (b *broker) addr() string { return b.b.Addr() }

// plainAddr is the second, plain listener (brokerConfig.plainPort).
func (b *broker) plainAddr() string {
	b.t.Helper()
	a := b.b.PlainAddrs()
	if len(a) == 0 {
		b.t.Fatal("broker has no plain listener (brokerConfig.plainPort)")
	}
	return a[0]
}

// stop ends the broker with sig and waits for it.
func (b *broker) stop(sig syscall.Signal) { b.b.Stop(sig) }

// restart starts the broker again on the same port(s).
func (b *broker) restart() {
	b.t.Helper()
	if err := b.b.Restart(); err != nil {
		b.t.Fatal(err)
	}
}

// writePasswordFile writes a mosquitto password file. It uses
// mosquitto_passwd when installed and selfHash is false; otherwise it
// writes mosquitto's salted SHA-512 format itself:
// user:$6$base64(salt)$base64(sha512(password || salt)).
func writePasswordFile(t *testing.T, path string, users map[string]string, selfHash bool) {
	t.Helper()
	tool, err := exec.LookPath("mosquitto_passwd")
	if err == nil && !selfHash {
		first := true
		for user, pass := range users {
			args := []string{"-b", path, user, pass}
			if first {
				args = []string{"-c", "-b", path, user, pass}
				first = false
			}
			if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
			}
		}
		return
	}
	var lines strings.Builder
	for user, pass := range users {
		salt := make([]byte, 12)
		if _, err := rand.Read(salt); err != nil {
			t.Fatal(err)
		}
		h := sha512.New()
		h.Write([]byte(pass))
		h.Write(salt)
		fmt.Fprintf(&lines, "%s:$6$%s$%s\n", user, base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(h.Sum(nil)))
	}
	if err := os.WriteFile(path, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// proxy sits between the uplink and the broker. It counts connections,
// can refuse them (gate closed), can cut them abruptly, and for plain
// MQTT it reads the packets passing through: it remembers which outbox
// sequence numbers the broker has acknowledged, before the PUBACK reaches
// the uplink, so a test can tell whether anything was marked sent early.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	sniff  bool

	accepted atomic.Int64
	open     atomic.Bool
	dropAcks atomic.Bool // swallow PUBACKs on their way to the uplink
	// refuseSubs turns every SUBACK return code into 0x80, the refusal a
	// broker sends for a subscription its ACL denies, and drops what the
	// broker then publishes to the client.
	refuseSubs atomic.Bool
	wg         sync.WaitGroup

	// published gets a value (capacity 1, never blocking) for each
	// PUBLISH seen going to the broker.
	published chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]net.Conn // client side -> broker side
	acked map[uint64]bool       // outbox seqs with a PUBACK from the broker
	pubs  int                   // PUBLISH packets with a seq seen going to the broker
}

func startProxy(t *testing.T, target string, sniff bool) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target, sniff: sniff, conns: map[net.Conn]net.Conn{}, acked: map[uint64]bool{},
		published: make(chan struct{}, 1)}
	p.open.Store(true)
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		if !p.open.Load() {
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c] = up
		p.mu.Unlock()
		ids := &sync.Map{} // packet ID -> seq; both directions of this connection share it
		p.wg.Add(2)
		go p.pipe(c, up, true, ids)
		go p.pipe(up, c, false, ids)
	}
}

// pipe copies one direction; toBroker tells which.
func (p *proxy) pipe(src, dst net.Conn, toBroker bool, ids *sync.Map) {
	defer p.wg.Done()
	defer func() {
		src.Close()
		dst.Close()
		p.mu.Lock()
		delete(p.conns, src)
		delete(p.conns, dst)
		p.mu.Unlock()
	}()
	if !p.sniff {
		_, _ = io.Copy(dst, src)
		return
	}
	r := bufio.NewReader(src)
	for {
		pkt, err := readPacket(r)
		if err != nil {
			return
		}
		p.inspect(pkt, toBroker, ids)
		if !toBroker && pkt[0]>>4 == 4 && p.dropAcks.Load() {
			continue
		}
		if !toBroker && p.refuseSubs.Load() {
			switch pkt[0] >> 4 {
			case 3: // PUBLISH
				continue
			case 9: // SUBACK
				for i := headerLen(pkt) + 2; i < len(pkt); i++ { // after the packet ID
					pkt[i] = 0x80
				}
			}
		}
		if _, err := dst.Write(pkt); err != nil {
			return
		}
	}
}

// inspect records PUBLISH packet IDs going to the broker and PUBACKs
// coming back.
func (p *proxy) inspect(pkt []byte, toBroker bool, ids *sync.Map) {
	typ := pkt[0] >> 4
	body := pkt[headerLen(pkt):]
	switch {
	case toBroker && typ == 3: // PUBLISH
		select {
		case p.published <- struct{}{}:
		default:
		}
		qos := (pkt[0] >> 1) & 3
		if len(body) < 2 {
			return
		}
		tl := int(binary.BigEndian.Uint16(body))
		if len(body) < 2+tl {
			return
		}
		rest := body[2+tl:]
		if qos == 0 || len(rest) < 2 {
			return
		}
		id := binary.BigEndian.Uint16(rest)
		var payload struct {
			Seq uint64 `json:"seq"`
		}
		_ = json.Unmarshal(rest[2:], &payload)
		ids.Store(id, payload.Seq)
		if payload.Seq != 0 {
			p.mu.Lock()
			p.pubs++
			p.mu.Unlock()
		}
	case !toBroker && typ == 4 && len(body) >= 2: // PUBACK
		id := binary.BigEndian.Uint16(body)
		if v, ok := ids.Load(id); ok && v.(uint64) != 0 {
			p.mu.Lock()
			p.acked[v.(uint64)] = true
			p.mu.Unlock()
		}
	}
}

func (p *proxy) isAcked(seq uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked[seq]
}

// readPacket reads one MQTT control packet, header included.
func readPacket(r *bufio.Reader) ([]byte, error) {
	first, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	pkt := []byte{first}
	length, mult := 0, 1
	for i := 0; ; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		pkt = append(pkt, b)
		length += int(b&127) * mult
		if b&128 == 0 {
			break
		}
		if i == 3 {
			return nil, errors.New("malformed remaining length")
		}
		mult *= 128
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return append(pkt, body...), nil
}

func headerLen(pkt []byte) int {
	n := 1
	for n < len(pkt) && n < 5 {
		n++
		if pkt[n-1]&128 == 0 {
			break
		}
	}
	return n
}

// setOpen opens or closes the gate for new connections.
func (p *proxy) setOpen(open bool) { p.open.Store(open) }

// cut closes every connection abruptly: the broker side with a reset, as
// when a cable is pulled or the box dies, so the broker sends the will.
func (p *proxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c, up := range p.conns {
		if tc, ok := up.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		up.Close()
		c.Close()
		n++
	}
	return n
}

func (p *proxy) close() {
	p.ln.Close()
	p.cut()
	p.wg.Wait()
}
