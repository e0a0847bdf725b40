// Package pgtest starts a real PostgreSQL server for tests: Debian's
// postgresql-15 binaries, a throw-away data directory, trust
// authentication on a private unix socket, fsync off. When run as root
// (CI), initdb and the server run as the postgres user, because initdb
// refuses root. A test binary that calls Main from its TestMain shares one
// server among its tests; Start gives every test a fresh database.
// Without PostgreSQL installed the test fails, naming the missing binary.
package pgtest

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// BinDir holds initdb and postgres (Debian's postgresql-15).
var BinDir = "/usr/lib/postgresql/15/bin"

// StartTimeout bounds initdb and the server's start.
var StartTimeout = 2 * time.Minute

// Server is a running PostgreSQL server owned by the test process.
type Server struct {
	dir    string // temp dir: data/ and the socket
	cmd    *exec.Cmd
	exited chan struct{}
	log    *lockedBuffer
	n      atomic.Int64 // databases created
}

var shared struct {
	sync.Mutex
	enabled bool
	srv     *Server
	err     error
}

// Main runs a test binary's tests with one server shared by every Start
// call, started when the first test needs it and stopped after the last:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	shared.Lock()
	shared.enabled = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	defer shared.Unlock()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		shared.srv = nil
	}
	return code
}

// Start returns the DSN of a new, empty database for t. Under Main the
// database is on the shared server; otherwise t gets its own server,
// stopped when t ends.
func Start(t testing.TB) string {
	t.Helper()
	shared.Lock()
	srv, err := shared.srv, shared.err
	if shared.enabled && srv == nil && err == nil {
		srv, err = StartServer()
		shared.srv, shared.err = srv, err
	}
	enabled := shared.enabled
	shared.Unlock()
	if !enabled {
		srv, err = StartServer()
		if err == nil {
			t.Cleanup(func() {
				if err := srv.Stop(); err != nil {
					t.Error(err)
				}
			})
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	dsn, err := srv.CreateDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// StartServer starts a server and returns once it accepts connections.
func StartServer() (*Server, error) {
	for _, b := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(BinDir, b)); err != nil {
			return nil, fmt.Errorf("pgtest: PostgreSQL 15 is missing: %s: %w; install Debian's postgresql-15 (scripts/deps.sh)",
				filepath.Join(BinDir, b), err)
		}
	}
	// os.MkdirTemp, not t.TempDir: a unix socket path must stay short.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{dir: dir, exited: make(chan struct{}), log: &lockedBuffer{}}
	if err := s.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// credential is the postgres user's when running as root, nil otherwise.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, initdb needs the postgres user: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgtest: postgres user: %w", err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (s *Server) start() error {
	cred, err := credential(s.dir)
	if err != nil {
		return err
	}
	data := filepath.Join(s.dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(BinDir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	// The server is a direct child: SIGINT is PostgreSQL's fast shutdown
	// (what pg_ctl stop -m fast sends), and Pdeathsig sends it when the
	// test binary dies without stopping it.
	s.cmd = exec.Command(filepath.Join(BinDir, "postgres"), "-D", data, "-k", s.dir, "-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
		"-c", "logging_collector=off", "-c", "log_destination=stderr")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	// Pdeathsig follows the OS thread that started the child; keep it.
	runtime.LockOSThread()
	err = s.cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			s.log.WriteLine(line)
			if !signalled && strings.Contains(line, "ready to accept connections") {
				close(ready)
				signalled = true
			}
		}
		io.Copy(io.Discard, stderr)
		s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case <-ready:
		return nil
	case <-s.exited:
		return fmt.Errorf("pgtest: postgres exited while starting: %v\n%s", s.cmd.ProcessState, s.log)
	case <-ctx.Done():
		s.Stop()
		return fmt.Errorf("pgtest: postgres not ready after %v\n%s", StartTimeout, s.log)
	}
}

// DSN returns the connection string of database name.
func (s *Server) DSN(name string) string {
	return fmt.Sprintf("host=%s port=5432 user=postgres dbname=%s sslmode=disable", s.dir, name)
}

// CreateDatabase creates a new empty database and returns its DSN.
func (s *Server) CreateDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("test_%d", s.n.Add(1))
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w\n%s", name, err, s.log)
	}
	return s.DSN(name), nil
}

// Stop shuts the server down (fast: open sessions are ended) and removes
// its directory.
func (s *Server) Stop() error {
	var err error
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(time.Minute):
			s.cmd.Process.Kill()
			<-s.exited
			err = fmt.Errorf("pgtest: postgres did not stop within a minute; killed\n%s", s.log)
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// lockedBuffer keeps the server's log for error messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) WriteLine(l string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 1<<20 {
		b.buf.WriteString(l)
		b.buf.WriteByte('\n')
	}
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
