package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/lib/pq" // database/sql driver "postgres"
)

// ErrExternalPostgres is returned by StopServer and StartServer when the harness
// uses the server named by TEST_DATABASE_URL, which it does not own.
var ErrExternalPostgres = errors.New("postgres is external (TEST_DATABASE_URL); the harness cannot stop or start it")

// PostgresOptions tunes a throwaway cluster.
type PostgresOptions struct {
	// Durable keeps fsync and synchronous_commit on, for benchmarks whose figures
	// should resemble a real server. Tests leave it off for speed.
	Durable bool
	// Password, when set, is the superuser's password and TCP logins must give it
	// (scram-sha-256), so tests can check a wrong password; otherwise every login
	// is trusted.
	Password string
}

// Postgres is a PostgreSQL server for tests: a throwaway cluster started by the
// harness, or the server named by TEST_DATABASE_URL.
type Postgres struct {
	// URL is a lib/pq connection URL for the cluster's superuser and the
	// "postgres" database (or TEST_DATABASE_URL as given).
	URL string
	// Port is the loopback TCP port of a throwaway cluster (0 when external).
	Port int

	external bool
	dir      string // temp dir holding data/, sock/ and the log
	bin      string // directory of initdb and postgres
	cred     *syscall.Credential
	opts     PostgresOptions

	mu   sync.Mutex
	proc *Process
}

var dbSeq atomic.Int64

// StartPostgres starts a fresh PostgreSQL cluster on a free loopback port, or uses
// TEST_DATABASE_URL when it is set. Call Stop when done.
func StartPostgres(ctx context.Context) (*Postgres, error) {
	return StartPostgresWith(ctx, PostgresOptions{})
}

// StartPostgresWith is StartPostgres with options.
func StartPostgresWith(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		p := &Postgres{URL: u, external: true}
		if err := p.waitReady(ctx, 30*time.Second); err != nil {
			return nil, err
		}
		return p, nil
	}
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	base := os.TempDir()
	if cred != nil {
		base = "/tmp" // the postgres user must be able to traverse it
	}
	dir, err := os.MkdirTemp(base, "pg-")
	if err != nil {
		return nil, fmt.Errorf("create postgres temp dir: %w", err)
	}
	p := &Postgres{dir: dir, bin: bin, cred: cred, opts: opts}
	if err := p.initdb(ctx); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	if p.Port, err = FreePort(); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: fmt.Sprintf("127.0.0.1:%d", p.Port),
		Path: "/postgres", RawQuery: "sslmode=disable"}
	if opts.Password != "" {
		u.User = url.UserPassword("postgres", opts.Password)
	}
	p.URL = u.String()
	if err := p.StartServer(ctx); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// postgresBinDir finds the directory holding initdb and postgres: PATH first,
// then the newest /usr/lib/postgresql/*/bin.
func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dir = filepath.Dir(real)
		}
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestVer := "", -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil && v > bestVer {
			best, bestVer = d, v
		}
	}
	if best == "" {
		return "", errors.New("postgresql server binaries (initdb, postgres) not found on PATH or in /usr/lib/postgresql/*/bin; install postgresql or set TEST_DATABASE_URL")
	}
	return best, nil
}

// postgresCredential returns the postgres OS user's credential when running as
// root (initdb and postgres refuse to run as root), nil otherwise.
func postgresCredential() (*syscall.Credential, error) {
	return osUserCredential("postgres", "the server")
}

func (p *Postgres) dataDir() string { return filepath.Join(p.dir, "data") }
func (p *Postgres) sockDir() string { return filepath.Join(p.dir, "sock") }
func (p *Postgres) logPath() string { return filepath.Join(p.dir, "postgres.log") }

func (p *Postgres) initdb(ctx context.Context) error {
	if err := os.Mkdir(p.sockDir(), 0o700); err != nil {
		return fmt.Errorf("create socket dir: %w", err)
	}
	if p.cred != nil {
		for _, d := range []string{p.dir, p.sockDir()} {
			if err := os.Chown(d, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
				return fmt.Errorf("chown %s to postgres: %w", d, err)
			}
		}
	}
	args := []string{"-D", p.dataDir(), "-U", "postgres", "--auth=trust", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions"}
	if p.opts.Password != "" {
		pwfile := filepath.Join(p.dir, "pwfile")
		if err := os.WriteFile(pwfile, []byte(p.opts.Password+"\n"), 0o600); err != nil {
			return fmt.Errorf("write postgres password file: %w", err)
		}
		defer func() { _ = os.Remove(pwfile) }() // initdb has read it; best effort
		if p.cred != nil {
			if err := os.Chown(pwfile, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
				return fmt.Errorf("chown postgres password file: %w", err)
			}
		}
		args = append(args, "--auth-host=scram-sha-256", "--pwfile="+pwfile)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, "initdb"), args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// StartServer starts the server on the cluster's data directory and port and
// waits until it accepts connections. Used after StopServer to bring it back.
func (p *Postgres) StartServer(ctx context.Context) error {
	if p.external {
		return ErrExternalPostgres
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil && !p.proc.Exited() {
		return nil
	}
	args := []string{"-D", p.dataDir(), "-p", strconv.Itoa(p.Port), "-h", "127.0.0.1",
		"-k", p.sockDir(), "-c", "max_connections=200", "-c", "log_min_messages=warning"}
	if !p.opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	logFile, err := os.OpenFile(p.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open postgres log: %w", err)
	}
	cmd := exec.Command(filepath.Join(p.bin, "postgres"), args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc, err := startProcessAs(cmd, p.cred)
	_ = logFile.Close() // the child has its own descriptor; nothing was written through ours
	if err != nil {
		return err
	}
	p.proc = proc
	if err := p.waitReady(ctx, 30*time.Second); err != nil {
		log, _ := os.ReadFile(p.logPath())
		p.stopLocked()
		return fmt.Errorf("postgres did not start: %w\n%s", err, log)
	}
	return nil
}

// StopServer shuts the server down (fast shutdown: open sessions are
// disconnected) and keeps its data, so StartServer can bring it back on the
// same port. Clients see connection errors in between.
func (p *Postgres) StopServer() error {
	if p.external {
		return ErrExternalPostgres
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
	return nil
}

func (p *Postgres) stopLocked() {
	if p.proc == nil || p.proc.Exited() {
		return
	}
	// SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) would wait for clients.
	_ = syscall.Kill(p.proc.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-p.proc.done:
	case <-time.After(15 * time.Second):
		p.proc.Stop(time.Second)
	}
}

// Stop ends a throwaway cluster and removes its files. It does nothing to an
// external server.
func (p *Postgres) Stop() {
	if p == nil || p.external {
		return
	}
	p.mu.Lock()
	p.stopLocked()
	p.mu.Unlock()
	_ = os.RemoveAll(p.dir) // best effort: a leftover cluster in the temp dir is harmless
}

// NewDatabase creates an empty database with a unique name starting with prefix
// and returns a connection URL for it, so tests sharing a server stay isolated.
func (p *Postgres) NewDatabase(ctx context.Context, prefix string) (_ string, err error) {
	name := fmt.Sprintf("%s_%d_%d", sanitizeIdent(prefix), os.Getpid(), dbSeq.Add(1))
	db, err := sql.Open("postgres", p.URL)
	if err != nil {
		return "", fmt.Errorf("open postgres: %w", err)
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return "", fmt.Errorf("parse postgres url: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func sanitizeIdent(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 || b.Len() > 40 {
		return "test"
	}
	return b.String()
}

func (p *Postgres) waitReady(ctx context.Context, timeout time.Duration) (err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	db, err := sql.Open("postgres", p.URL)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	for {
		err := db.PingContext(ctx)
		if err == nil {
			return nil
		}
		if p.proc != nil && p.proc.Exited() {
			return errors.New("postgres exited during startup")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for postgres: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startProcessAs is StartProcess for a child that runs as another OS user: Go
// switches credentials before setting the parent-death signal, so the child
// still dies with the test binary.
func startProcessAs(cmd *exec.Cmd, cred *syscall.Credential) (*Process, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(cmd.Path), err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}
