// Package pgtemp starts a throwaway PostgreSQL server from the binaries
// installed on this machine.
//
// Use it in the demo and in test helpers when no server answers at
// DATABASE_URL but PostgreSQL's server binaries are installed (for example by
// Debian's postgresql package, under /usr/lib/postgresql/<major>/bin). Do not
// use it when DATABASE_URL works: a server the user chose always wins.
//
// The server lives in a new temporary directory that holds its data, its
// log (postgres.log) and its Unix socket. It listens on no TCP port, so it
// cannot disturb, or be disturbed by, another server on the machine, and it is
// tuned for speed rather than durability (fsync off). Its directory is mode
// 0700, so only its owner and root can connect; inside, every role is trusted.
//
// initdb and postgres refuse to run as root. When the calling process is root,
// Start runs them as the "postgres" system user if it exists, else as
// "nobody", and gives that user the temporary directory.
//
// Call Stop when done: it shuts the server down and removes its directory. If
// the Go process dies without calling Stop, the server is orphaned and its
// directory stays behind in the temporary directory (on Linux the server is
// asked to shut down when its parent dies, but its directory still stays).
package pgtemp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// searchGlobs are the patterns Find looks for server binaries in, before PATH.
// Tests point it elsewhere.
var searchGlobs = []string{"/usr/lib/postgresql/*/bin"}

// settings are the server's configuration, passed as postgres -c options.
var settings = []string{
	"listen_addresses=", // no TCP
	"unix_socket_permissions=0700",
	"fsync=off",
	"synchronous_commit=off",
	"full_page_writes=off",
	"logging_collector=off", // log to stderr, which is postgres.log
}

const (
	// port only names the socket file (.s.PGSQL.5432); there is no TCP listener.
	port = 5432
	// readyTimeout bounds how long Start waits for the server to accept
	// connections once postgres has been started.
	readyTimeout = 30 * time.Second
	// stopTimeout bounds each step of Stop's shutdown (fast, then immediate,
	// then kill).
	stopTimeout = 10 * time.Second
	// superuser is the database superuser initdb creates.
	superuser = "postgres"
	// database is created by Start; URL connects to it.
	database = "test"
)

// Find returns the directory of an installed PostgreSQL's server binaries
// (initdb and postgres): the newest major version under
// /usr/lib/postgresql/*/bin, else the directory of initdb on PATH. If there
// is none, its error says how to install PostgreSQL or run one in Docker, and
// how to point DATABASE_URL at an existing server.
func Find() (binDir string, err error) {
	type cand struct {
		dir string
		ver []int
	}
	var cands []cand
	for _, g := range searchGlobs {
		dirs, _ := filepath.Glob(g)
		for _, d := range dirs {
			if hasServer(d) {
				// The version is the path element above bin, e.g. 15 or 9.6.
				cands = append(cands, cand{d, parseVersion(filepath.Base(filepath.Dir(d)))})
			}
		}
	}
	if len(cands) > 0 {
		best := slices.MaxFunc(cands, func(a, b cand) int { return slices.Compare(a.ver, b.ver) })
		return best.dir, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if d := filepath.Dir(p); hasServer(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("pgtemp: no PostgreSQL server binaries (initdb and postgres) in %s or on PATH.\n"+
		"Install PostgreSQL (Debian/Ubuntu):\n"+
		"  apt-get install postgresql\n"+
		"or run one in Docker:\n"+
		"  docker run --rm -e POSTGRES_HOST_AUTH_METHOD=trust -p 5432:5432 postgres:16\n"+
		"  DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'\n"+
		"or point DATABASE_URL at an existing server:\n"+
		"  DATABASE_URL='postgres://user:pass@host:5432/db?sslmode=disable'",
		strings.Join(searchGlobs, ", "))
}

// hasServer reports whether dir holds executable initdb and postgres files.
func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// parseVersion turns "15" or "9.6" into []int{15} or []int{9, 6}; a part that
// is not a number sorts below every number.
func parseVersion(s string) []int {
	var v []int
	for _, p := range strings.Split(s, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			n = -1
		}
		v = append(v, n)
	}
	return v
}

// Server is a running throwaway PostgreSQL. Create it with Start and release
// it with Stop. Its methods may be called from several goroutines.
type Server struct {
	dir     string // temporary directory: data/, postgres.log, socket
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when postgres has exited and been reaped
	waitErr error         // postgres's exit status; read after done is closed

	stopOnce sync.Once
	stopErr  error
}

// owner is the unprivileged account initdb and postgres run as when the
// calling process is root.
type owner struct {
	name     string
	uid, gid uint32
}

// Start runs initdb in a new temporary directory and starts postgres on a
// Unix socket in that directory, with no TCP port (empty listen_addresses),
// trust authentication, fsync off, and a database named "test". It waits
// until the server accepts connections, for at most 30 seconds after postgres
// starts, or until ctx is done. ctx bounds only Start; the server runs until
// Stop. If Start fails it leaves no process or directory behind.
func Start(ctx context.Context) (*Server, error) {
	return start(ctx, options{runAs: runAs, settings: settings})
}

// options are Start's knobs; tests vary them without touching package state.
type options struct {
	runAs    []string         // accounts to run as when root, in order of preference
	settings []string         // postgres -c options
	made     func(dir string) // if set, called with the new temporary directory
}

func start(ctx context.Context, opt options) (*Server, error) {
	bin, err := Find()
	if err != nil {
		return nil, err
	}
	var own *owner
	parent := os.TempDir()
	if os.Geteuid() == 0 {
		if own, err = unprivileged(opt.runAs); err != nil {
			return nil, err
		}
		// The server user must be able to reach the directory; TMPDIR may
		// be somewhere only root can enter.
		parent = "/tmp"
	}
	// Unix socket paths are limited to about 104-108 bytes:
	// <parent>/pgtempNNNNNNNNNN/.s.PGSQL.5432 must fit.
	if len(parent)+len("/pgtemp")+12+len("/.s.PGSQL.5432") > 100 {
		parent = "/tmp"
	}
	removeStale(parent)
	dir, err := os.MkdirTemp(parent, "pgtemp")
	if err != nil {
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	if opt.made != nil {
		opt.made(dir)
	}
	s := &Server{dir: dir, logPath: filepath.Join(dir, "postgres.log"), done: make(chan struct{})}
	fail := func(err error) (*Server, error) {
		if serr := s.Stop(); serr != nil {
			err = fmt.Errorf("%w (cleaning up: %v)", err, serr)
		}
		return nil, err
	}
	if own != nil {
		if err := os.Chown(dir, int(own.uid), int(own.gid)); err != nil {
			return fail(fmt.Errorf("pgtemp: giving %s to user %s: %w", dir, own.name, err))
		}
	}
	env := serverEnv()
	dataDir := filepath.Join(dir, "data")

	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", dataDir, "-U", superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "-N")
	initdb.Dir = dir
	initdb.Env = env
	initdb.SysProcAttr = procAttr(own, false)
	if out, err := initdb.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fail(fmt.Errorf("pgtemp: %s: %w\n%s", initdb, err, tail(out)))
	}

	logf, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fail(fmt.Errorf("pgtemp: %w", err))
	}
	if own != nil {
		_ = logf.Chown(int(own.uid), int(own.gid)) // tidiness only: postgres writes through the inherited descriptor
	}
	args := []string{"-D", dataDir, "-p", strconv.Itoa(port), "-k", dir}
	for _, set := range opt.settings {
		args = append(args, "-c", set)
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), args...)
	s.cmd.Dir = dir
	s.cmd.Env = env
	s.cmd.Stdout = logf
	s.cmd.Stderr = logf
	s.cmd.SysProcAttr = procAttr(own, true)
	err = s.cmd.Start()
	logf.Close()
	if err != nil {
		s.cmd = nil
		return fail(fmt.Errorf("pgtemp: starting postgres: %w", err))
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()

	if err := s.waitReady(ctx); err != nil {
		return fail(err)
	}
	return s, nil
}

// waitReady waits until the server accepts connections to its "postgres"
// database, then creates the "test" database.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var last error
	for {
		select {
		case <-s.done:
			return fmt.Errorf("pgtemp: postgres exited during start (%v); its log:\n%s", s.waitErr, s.logTail())
		default:
		}
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(actx, s.url("postgres"))
		if err == nil {
			_, err = conn.Exec(actx, "CREATE DATABASE "+database)
			conn.Close(context.Background())
			acancel()
			if err != nil {
				return fmt.Errorf("pgtemp: creating database %s: %w", database, err)
			}
			return nil
		}
		acancel()
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtemp: postgres did not accept connections (%w; last error: %v); its log:\n%s",
				ctx.Err(), last, s.logTail())
		case <-s.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// URL returns a connection string for the server's "test" database, usable
// by pgx and libpq, for example
// postgres://postgres@/test?host=/tmp/pgtemp123&port=5432&sslmode=disable.
// The host is the socket directory; the port only names the socket file.
func (s *Server) URL() string { return s.url(database) }

func (s *Server) url(db string) string {
	return fmt.Sprintf("postgres://%s@/%s?host=%s&port=%d&sslmode=disable", superuser, db, escape(s.dir), port)
}

// Stop stops the server with a fast shutdown (escalating to an immediate
// shutdown, then a kill, if it does not exit within 10 seconds each), waits
// for it to exit and removes its directory. Open connections are closed by the
// server. Stop is idempotent: later calls do nothing and return the first
// call's result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	var errs []error
	if s.cmd != nil {
		// SIGINT is a fast shutdown, SIGQUIT an immediate one; postgres
		// waits for its backends before it exits either way.
		steps := []os.Signal{os.Interrupt, quitSignal, os.Kill}
		exited := false
		for _, sig := range steps {
			select {
			case <-s.done:
				exited = true
			default:
			}
			if exited {
				break
			}
			if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
				errs = append(errs, fmt.Errorf("pgtemp: signalling postgres: %w", err))
			}
			select {
			case <-s.done:
				exited = true
			case <-time.After(stopTimeout):
			}
		}
		if !exited {
			errs = append(errs, fmt.Errorf("pgtemp: postgres (pid %d) did not exit", s.cmd.Process.Pid))
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("pgtemp: %w", err))
	}
	return errors.Join(errs...)
}

// escape percent-encodes s for a URL query value, leaving slashes and other
// unreserved characters readable. It does not use "+" for space, which libpq
// and pgx do not decode.
func escape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("/-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// runAs are the accounts, in order of preference, that the server runs as
// when we are root.
var runAs = []string{"postgres", "nobody"}

// unprivileged returns the first of names that is an account on this system.
func unprivileged(names []string) (*owner, error) {
	var errs []error
	for _, name := range names {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			errs = append(errs, fmt.Errorf("user %s has uid %q gid %q", name, u.Uid, u.Gid))
			continue
		}
		return &owner{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("pgtemp: running as root, and PostgreSQL refuses to; found no user to run it as: %w", errors.Join(errs...))
}

// serverEnv is our environment without PG* variables, which could redirect
// initdb or postgres (PGDATA, PGPORT, PGOPTIONS, ...).
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// logTail returns the end of the server's log.
func (s *Server) logTail() string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	const max = 4096
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		_, _ = f.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return tail(b)
}

// tail returns the last 20 lines of b.
func tail(b []byte) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// removeStale removes the directories that servers of processes that died
// left in parent: a server stops when its process dies (see procAttr), but
// its directory stays. A directory counts as stale when it is over a
// minute old (not one being set up) and its postmaster.pid is gone or
// names no live process.
func removeStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, "pgtemp*"))
	for _, dir := range dirs {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < time.Minute {
			continue
		}
		if pidAlive(filepath.Join(dir, "data", "postmaster.pid")) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// pidAlive reports whether the first line of the pid file names a live
// process.
func pidAlive(pidFile string) bool {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}
