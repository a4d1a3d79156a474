package harness

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql" // database/sql driver "mysql"
)

// MariaDB is a throwaway MariaDB server for tests: its own data directory in a
// temp dir, listening on a free loopback port, with one password-authenticated
// user that may do everything (tests create databases and check a wrong password).
type MariaDB struct {
	port     int
	user     string
	password string
	database string

	dir   string // temp dir holding data/, the socket, the pid file and the log
	bin   string // mariadbd
	cred  *syscall.Credential
	fresh bool // the next start is the first: create the user and database

	mu   sync.Mutex
	proc *Process
}

const (
	mariaDBUser     = "lc2test"
	mariaDBDatabase = "lportal" // Liferay's usual database name
)

// StartMariaDB initialises a fresh MariaDB data directory, starts the server on a
// free loopback port and waits until its user can log in. Call Stop when done.
func StartMariaDB(ctx context.Context) (*MariaDB, error) {
	bin, installDB, err := mariaDBBinaries()
	if err != nil {
		return nil, err
	}
	cred, err := osUserCredential("mysql", "mariadbd")
	if err != nil {
		return nil, err
	}
	base := os.TempDir()
	if cred != nil {
		base = "/tmp" // the mysql user must be able to traverse it
	}
	dir, err := os.MkdirTemp(base, "mariadb-")
	if err != nil {
		return nil, fmt.Errorf("create mariadb temp dir: %w", err)
	}
	m := &MariaDB{dir: dir, bin: bin, cred: cred, user: mariaDBUser, database: mariaDBDatabase, fresh: true}
	if m.password, err = randomPassword(); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	if err := m.installDB(ctx, installDB); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	if m.port, err = FreePort(); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	if err := m.StartServer(ctx); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// mariaDBBinaries finds mariadbd and mariadb-install-db on PATH or where Debian
// puts them (/usr/sbin is not on a normal user's PATH).
func mariaDBBinaries() (server, installDB string, err error) {
	find := func(name string, dirs ...string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, d := range dirs {
			if p := filepath.Join(d, name); fileIsExecutable(p) {
				return p
			}
		}
		return ""
	}
	server = find("mariadbd", "/usr/sbin", "/usr/libexec", "/usr/local/sbin")
	installDB = find("mariadb-install-db", "/usr/bin", "/usr/local/bin")
	if server == "" || installDB == "" {
		return "", "", errors.New("mariadb server binaries (mariadbd, mariadb-install-db) not found on PATH or in /usr/sbin; install the mariadb-server package (Debian: apt-get install mariadb-server)")
	}
	return server, installDB, nil
}

func fileIsExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// osUserCredential returns the named OS user's credential when running as root
// (the database servers refuse to run as root), nil otherwise.
func osUserCredential(name, server string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("running as root needs the %s OS user to run %s: %w", name, server, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func randomPassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate mariadb password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func (m *MariaDB) dataDir() string  { return filepath.Join(m.dir, "data") }
func (m *MariaDB) sockPath() string { return filepath.Join(m.dir, "mysqld.sock") }
func (m *MariaDB) logPath() string  { return filepath.Join(m.dir, "mariadb.log") }
func (m *MariaDB) initPath() string { return filepath.Join(m.dir, "init.sql") }

func (m *MariaDB) installDB(ctx context.Context, installDB string) error {
	if m.cred != nil {
		if err := os.Chown(m.dir, int(m.cred.Uid), int(m.cred.Gid)); err != nil {
			return fmt.Errorf("chown %s to mysql: %w", m.dir, err)
		}
	}
	// --no-defaults keeps /etc/mysql out of it; root@localhost stays socket-only.
	cmd := exec.CommandContext(ctx, installDB, "--no-defaults", "--datadir="+m.dataDir(),
		"--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve")
	cmd.Dir = m.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: m.cred, Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mariadb-install-db: %w\n%s", err, out)
	}
	return nil
}

// writeInitFile writes the SQL the server runs once at its first start: the
// test user with a real password (no --skip-grant-tables) and the database.
func (m *MariaDB) writeInitFile() error {
	sqlText := fmt.Sprintf(`CREATE USER '%[1]s'@'%%' IDENTIFIED BY '%[2]s';
GRANT ALL PRIVILEGES ON *.* TO '%[1]s'@'%%' WITH GRANT OPTION;
CREATE DATABASE %[3]s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
`, m.user, m.password, m.database)
	if err := os.WriteFile(m.initPath(), []byte(sqlText), 0o600); err != nil {
		return fmt.Errorf("write mariadb init file: %w", err)
	}
	if m.cred != nil {
		if err := os.Chown(m.initPath(), int(m.cred.Uid), int(m.cred.Gid)); err != nil {
			return fmt.Errorf("chown mariadb init file: %w", err)
		}
	}
	return nil
}

// StartServer starts mariadbd on the data directory and port and waits until
// the user can log in. Used after StopServer to bring it back.
func (m *MariaDB) StartServer(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil && !m.proc.Exited() {
		return nil
	}
	args := []string{"--no-defaults", "--datadir=" + m.dataDir(), "--socket=" + m.sockPath(),
		"--port=" + strconv.Itoa(m.port), "--bind-address=127.0.0.1", "--skip-name-resolve",
		"--pid-file=" + filepath.Join(m.dir, "mariadb.pid"), "--log-error=" + m.logPath(),
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
		"--max-connections=200",
		// Speed over durability, like the PostgreSQL harness's fsync=off.
		"--innodb-flush-log-at-trx-commit=0", "--skip-innodb-doublewrite", "--sync-binlog=0"}
	if m.fresh {
		if err := m.writeInitFile(); err != nil {
			return err
		}
		args = append(args, "--init-file="+m.initPath())
	}
	cmd := exec.Command(m.bin, args...)
	cmd.Dir = m.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	proc, err := startProcessAs(cmd, m.cred)
	if err != nil {
		return err
	}
	m.proc = proc
	if err := m.waitReady(ctx, 60*time.Second); err != nil {
		log, _ := os.ReadFile(m.logPath())
		m.stopLocked()
		return fmt.Errorf("mariadb did not start: %w\n%s", err, log)
	}
	if m.fresh {
		m.fresh = false
		_ = os.Remove(m.initPath()) // it holds the password; the server has run it
	}
	return nil
}

// StopServer shuts the server down (open sessions are disconnected) and keeps
// its data, so StartServer can bring it back on the same port.
func (m *MariaDB) StopServer() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopLocked()
}

func (m *MariaDB) stopLocked() {
	if m.proc == nil || m.proc.Exited() {
		return
	}
	// SIGTERM is mariadbd's normal shutdown.
	_ = syscall.Kill(m.proc.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.proc.done:
	case <-time.After(30 * time.Second):
		m.proc.Stop(time.Second)
	}
}

// Stop ends the server and removes its files.
func (m *MariaDB) Stop() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.stopLocked()
	m.mu.Unlock()
	_ = os.RemoveAll(m.dir) // best effort: a leftover data dir in the temp dir is harmless
}

// Host is the server's address (always loopback).
func (m *MariaDB) Host() string { return "127.0.0.1" }

// Port is the server's loopback TCP port.
func (m *MariaDB) Port() int { return m.port }

// User is the password-authenticated user, with all privileges.
func (m *MariaDB) User() string { return m.user }

// Password is User's password.
func (m *MariaDB) Password() string { return m.password }

// Database is the database created at the first start.
func (m *MariaDB) Database() string { return m.database }

// DSN is a go-sql-driver/mysql DSN for User on Database.
func (m *MariaDB) DSN() string { return m.dsnFor(m.database) }

func (m *MariaDB) dsnFor(database string) string {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = m.user, m.password
	cfg.Net, cfg.Addr = "tcp", fmt.Sprintf("%s:%d", m.Host(), m.port)
	cfg.DBName = database
	return cfg.FormatDSN()
}

// NewDatabase creates an empty database with a unique name starting with prefix
// and returns a DSN for it, so tests sharing a server stay isolated.
func (m *MariaDB) NewDatabase(ctx context.Context, prefix string) (_ string, err error) {
	name := fmt.Sprintf("%s_%d_%d", sanitizeIdent(prefix), os.Getpid(), dbSeq.Add(1))
	db, err := sql.Open("mysql", m.DSN())
	if err != nil {
		return "", fmt.Errorf("open mariadb: %w", err)
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return m.dsnFor(name), nil
}

func (m *MariaDB) waitReady(ctx context.Context, timeout time.Duration) (err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	db, err := sql.Open("mysql", m.DSN())
	if err != nil {
		return fmt.Errorf("open mariadb: %w", err)
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	for {
		err := db.PingContext(ctx)
		if err == nil {
			return nil
		}
		if m.proc != nil && m.proc.Exited() {
			return errors.New("mariadbd exited during startup")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for mariadb: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
