package mosquitto

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultBin is where Debian and Ubuntu install the broker.
const DefaultBin = "/usr/sbin/mosquitto"

// startTimeout is how long Start and Restart wait for the broker to say
// it is ready.
const startTimeout = 10 * time.Second

// stopTimeout is how long Stop waits after the signal before it kills.
const stopTimeout = 10 * time.Second

// ErrMissing is wrapped by Start's error when the binary is not there.
var ErrMissing = errors.New("mosquitto binary missing")

// Options describe the broker. The zero value is an anonymous, plain,
// non-persistent broker on a free port that logs errors and warnings.
type Options struct {
	// Bin is the broker binary; empty means DefaultBin.
	Bin string
	// Port of the main listener on 127.0.0.1; 0 picks a free one.
	Port int
	// Persist keeps sessions and queued messages across a restart (the
	// database lives in the directory given to Start).
	Persist bool
	// PasswordFile turns anonymous access off and authenticates every
	// listener against this mosquitto password file.
	PasswordFile string
	// Extra holds additional global configuration lines (log types,
	// limits such as max_inflight_messages), written before the
	// listeners.
	Extra string
	// Listener holds lines that belong to the main listener, written
	// right after it: TLS settings such as cafile, certfile, keyfile and
	// require_certificate.
	Listener string
	// PlainListeners adds this many further plain listeners on free
	// ports of 127.0.0.1 (see PlainAddrs).
	PlainListeners int
}

// Broker is a running (or stopped) mosquitto process.
type Broker struct {
	bin     string
	conf    string
	logPath string
	port    int
	plain   []int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start writes mosquitto.conf and mosquitto.log into dir, starts the
// broker and waits until all its listeners accept connections.
func Start(dir string, opt Options) (*Broker, error) {
	b := &Broker{bin: opt.Bin, port: opt.Port,
		conf: filepath.Join(dir, "mosquitto.conf"), logPath: filepath.Join(dir, "mosquitto.log")}
	if b.bin == "" {
		b.bin = DefaultBin
	}
	if _, err := os.Stat(b.bin); err != nil {
		return nil, fmt.Errorf("an MQTT broker is needed at %s (apt-get install mosquitto): %w: %w", b.bin, ErrMissing, err)
	}
	// Ports picked here are free only at the moment they are picked;
	// when one is taken before the broker binds it, pick again.
	for attempt := 1; ; attempt++ {
		if opt.Port == 0 {
			p, err := FreePort()
			if err != nil {
				return nil, err
			}
			b.port = p
		}
		b.plain = b.plain[:0]
		for range opt.PlainListeners {
			p, err := FreePort()
			if err != nil {
				return nil, err
			}
			b.plain = append(b.plain, p)
		}
		if err := os.WriteFile(b.conf, []byte(b.config(dir, opt)), 0o600); err != nil {
			return nil, err
		}
		err := b.start()
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 || (opt.Port != 0 && opt.PlainListeners == 0) {
			return nil, err
		}
	}
}

func (b *Broker) config(dir string, opt Options) string {
	var c strings.Builder
	if opt.Persist {
		fmt.Fprintf(&c, "persistence true\npersistence_location %s/\n", dir)
	} else {
		c.WriteString("persistence false\n")
	}
	// The log goes to stderr, which Start sends to mosquitto.log.
	c.WriteString("log_dest stderr\nlog_type error\nlog_type warning\n")
	if opt.Extra != "" {
		c.WriteString(strings.TrimSuffix(opt.Extra, "\n") + "\n")
	}
	if os.Geteuid() == 0 {
		// As root mosquitto would switch to the mosquitto user, which
		// cannot read or write the caller's private directory.
		c.WriteString("user root\n")
	}
	if opt.PasswordFile != "" {
		fmt.Fprintf(&c, "allow_anonymous false\npassword_file %s\n", opt.PasswordFile)
	} else {
		c.WriteString("allow_anonymous true\n")
	}
	fmt.Fprintf(&c, "listener %d 127.0.0.1\n", b.port)
	if opt.Listener != "" {
		c.WriteString(strings.TrimSuffix(opt.Listener, "\n") + "\n")
	}
	for _, p := range b.plain {
		fmt.Fprintf(&c, "listener %d 127.0.0.1\n", p)
	}
	return c.String()
}

// Addr is the main listener's host:port.
func (b *Broker) Addr() string { return fmt.Sprintf("127.0.0.1:%d", b.port) }

// URL is the main listener as an MQTT broker URL (tcp://host:port).
func (b *Broker) URL() string { return "tcp://" + b.Addr() }

// Port is the main listener's port.
func (b *Broker) Port() int { return b.port }

// PlainAddrs are the host:port of the listeners Options.PlainListeners
// asked for.
func (b *Broker) PlainAddrs() []string {
	var a []string
	for _, p := range b.plain {
		a = append(a, fmt.Sprintf("127.0.0.1:%d", p))
	}
	return a
}

// LogPath is the file the broker logs to, across restarts.
func (b *Broker) LogPath() string { return b.logPath }

// Log returns the broker's log so far, for error messages.
func (b *Broker) Log() string {
	log, _ := os.ReadFile(b.logPath)
	return string(log)
}

// start runs the broker and waits until every listener accepts
// connections and the broker serves them; on failure the process is gone
// when it returns.
//
// It waits on the broker's word, not on the ports: Mosquitto as Debian
// builds it (with systemd support) sends READY=1 to the socket named by
// NOTIFY_SOCKET once it holds all its listeners, and exits when it cannot
// bind one. A private socket plays systemd's part, so a port picked free
// but taken since by another process never passes for the broker's.
// READY=1 comes just before the broker's main loop, which starts by
// clearing its stop flag: a signal sent in between would be lost. One
// exchange with the main loop (see served) closes that gap.
func (b *Broker) start() error {
	notify, err := listenNotify()
	if err != nil {
		return fmt.Errorf("mosquitto: notification socket: %w", err)
	}
	ready := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		waitReady(notify, ready)
	}()
	defer func() {
		notify.Close() // ends waitReady
		<-readerDone
	}()

	logf, err := os.OpenFile(b.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(b.bin, "-c", b.conf)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify.LocalAddr().String())
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", b.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	b.mu.Lock()
	b.cmd, b.exited = cmd, exited
	b.mu.Unlock()
	deadline := time.Now().Add(startTimeout)
	timeout := time.NewTimer(startTimeout)
	defer timeout.Stop()
	select {
	case <-ready:
		if err := b.served(deadline); err != nil {
			b.Stop(syscall.SIGKILL)
			return fmt.Errorf("mosquitto: ready, but no answer on %s: %w", b.Addr(), err)
		}
		return nil
	case <-exited:
		b.Stop(syscall.SIGKILL)
		if strings.Contains(b.Log(), "in use") {
			return fmt.Errorf("mosquitto exited during start-up: %w:\n%s", errPortTaken, b.Log())
		}
		return fmt.Errorf("mosquitto exited during start-up:\n%s", b.Log())
	case <-timeout.C:
		b.Stop(syscall.SIGKILL)
		return fmt.Errorf("mosquitto did not report ready within %v (a build without systemd support never does)", startTimeout)
	}
}

// errPortTaken says a listener's port was in use when the broker started.
var errPortTaken = errors.New("port taken")

// served returns once the broker's main loop has handled a connection to
// the main listener: it writes bytes that are neither MQTT nor TLS (a
// PINGREQ before any CONNECT, padded to a TLS record header), which the
// broker answers by closing the connection, whether the listener speaks
// TLS or not.
func (b *Broker) served(deadline time.Time) error {
	c, err := net.DialTimeout("tcp", b.Addr(), time.Until(deadline))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return err
	}
	if _, err = c.Write([]byte{0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0}); err == nil {
		_, err = io.Copy(io.Discard, c) // nil at EOF
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return nil // closed by the broker, politely or with a reset
}

// listenNotify opens a datagram socket in the abstract namespace (no file
// to clean up) under a name nobody else knows.
func listenNotify() (*net.UnixConn, error) {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	return net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "@dozor-mosquitto-" + hex.EncodeToString(id[:]), Net: "unixgram"})
}

// waitReady closes ready when a notification says READY=1; it returns then
// or when conn is closed.
func waitReady(conn *net.UnixConn, ready chan<- struct{}) {
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		if slices.Contains(strings.Split(string(buf[:n]), "\n"), "READY=1") {
			close(ready)
			return
		}
	}
}

// Restart starts the broker again on the same ports with the same
// configuration; a broker still running is stopped first (SIGTERM).
func (b *Broker) Restart() error {
	b.Stop(syscall.SIGTERM)
	return b.start()
}

// Stop sends sig to the broker and waits for it to exit, killing it when
// it has not after 10 s. Stopping a stopped broker does nothing.
func (b *Broker) Stop(sig syscall.Signal) {
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-exited
	}
}
