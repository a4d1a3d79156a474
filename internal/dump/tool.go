package dump

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// tool is a client program of the engine (pg_dump, pg_restore, mariadb-dump, mariadb).
type tool struct {
	name string // as recorded: the program's base name
	path string
	// version is the tool's own version line's number; major and minor as the
	// too-new rule compares them, family "postgres", "mariadb" or "mysql".
	version      string
	major, minor int
	family       string
}

// lookTool finds the first of names on PATH (mariadb-dump, then mysqldump).
func lookTool(names ...string) (*tool, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return &tool{name: n, path: p}, nil
		}
	}
	return nil, fmt.Errorf("none of %s found on PATH", strings.Join(names, ", "))
}

var (
	// "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", "pg_dump (PostgreSQL) 17beta1"
	pgToolVersion = regexp.MustCompile(`\(PostgreSQL\) (\d+)(?:\.(\d+))?`)
	// "mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, ..." and 11.x's
	// "mariadb-dump from 11.4.2-MariaDB, client 10.19 ...".
	mariaDBToolVersion = regexp.MustCompile(`(\d+)\.(\d+)\.(\d+)-MariaDB`)
	// "mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)"
	mysqlToolVersion = regexp.MustCompile(`Ver (\d+)\.(\d+)\.(\d+)`)
)

// readVersion runs "<tool> --version" and reads its version.
func (t *tool) readVersion(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, t.path, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %w", t.name, err)
	}
	return t.parseVersion(strings.TrimSpace(string(out)))
}

// parseVersion reads the version line of a tool.
func (t *tool) parseVersion(line string) error {
	var m []string
	switch {
	case pgToolVersion.MatchString(line):
		m, t.family = pgToolVersion.FindStringSubmatch(line), EnginePostgres
	case mariaDBToolVersion.MatchString(line):
		m, t.family = mariaDBToolVersion.FindStringSubmatch(line), EngineMariaDB
	case mysqlToolVersion.MatchString(line):
		m, t.family = mysqlToolVersion.FindStringSubmatch(line), EngineMySQL
	default:
		return fmt.Errorf("%s --version printed %q, which has no version this dumper can read", t.name, line)
	}
	t.major, _ = strconv.Atoi(m[1])
	t.minor, _ = strconv.Atoi(m[2]) // "" (PostgreSQL 17beta1) is 0
	t.version = strings.TrimPrefix(strings.Join(nonEmpty(m[1:]), "."), ".")
	return nil
}

func nonEmpty(s []string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// refuseNewerServer is the rule that a server is never dumped by an older tool, which
// could silently miss what the newer server has (pg_dump itself refuses a newer
// major; mariadb-dump does not check at all):
//   - PostgreSQL: the server's major must not exceed pg_dump's major.
//   - MariaDB: MariaDB's feature releases are its minor versions (10.6, 10.11, 11.4),
//     so the server's major.minor must not exceed the MariaDB tool's.
//   - MySQL: with MySQL's mysqldump the same major.minor rule; MariaDB's tools keep
//     up with MySQL only to 5.7 and 8.0's dump syntax, so they refuse a MySQL server
//     newer than 8.0 (8.4 LTS and 9.x).
func refuseNewerServer(s *server, t *tool) error {
	newer := func(major, minor int) bool { return s.major > major || (s.major == major && s.minor > minor) }
	var too bool
	switch {
	case s.engine == EnginePostgres:
		too = s.major > t.major
	case s.engine == EngineMariaDB && t.family == EngineMariaDB:
		too = newer(t.major, t.minor)
	case s.engine == EngineMySQL && t.family == EngineMySQL:
		too = newer(t.major, t.minor)
	case s.engine == EngineMySQL && t.family == EngineMariaDB:
		too = newer(8, 0)
	default: // a MariaDB server and MySQL's mysqldump: different products
		return fail(ReasonServerTooNew, nil, "the %s server %s cannot be dumped with MySQL's %s %s; the dumper needs MariaDB's client tools",
			s.engine, s.version, t.name, t.version)
	}
	if too {
		return fail(ReasonServerTooNew, nil, "the %s server's version %s is newer than the dumper's %s %s; a dump needs a tool at least as new as the server (use a newer dumper image)",
			s.engine, s.version, t.name, t.version)
	}
	return nil
}

// childEnv is the environment of a database tool: this process's, without the
// dumper's own settings (the password among them) and any client variable that
// would change where the tool connects, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "LC2_") || strings.HasPrefix(name, "PG") || strings.HasPrefix(name, "MYSQL") || strings.HasPrefix(name, "MARIADB") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// postgresEnv is libpq's environment for conn: the password, or an IAM token minted
// now for the tool about to start, in PGPASSWORD, never in args.
func (c *Connection) postgresEnv(ctx context.Context) ([]string, error) {
	port := c.Port
	if port == 0 {
		port = 5432
	}
	password, err := c.secret(ctx, c.addressFor(EnginePostgres))
	if err != nil {
		return nil, err
	}
	return childEnv("PGHOST="+c.Host, "PGPORT="+strconv.Itoa(port), "PGUSER="+c.User,
		"PGPASSWORD="+password, "PGDATABASE="+c.Database, "PGSSLMODE="+c.sslModeOr("prefer"),
		"PGCONNECT_TIMEOUT="+strconv.Itoa(int(connectTimeout.Seconds()))), nil
}

// mysqlDefaultsFile writes the client options for conn, password (or an IAM token
// minted now for the tool about to start) included, to a 0600 file in a fresh temp
// dir, so no password is in args or the environment. With IAM, cleartextGroup names
// the option group of a MySQL tool that must be told to send the token with the
// cleartext plugin (MariaDB's tools always may, and mariadb-dump knows no such
// option); "" for none. The returned cleanup removes it.
func (c *Connection) mysqlDefaultsFile(ctx context.Context, cleartextGroup string) (path string, cleanup func(), err error) {
	password, err := c.secret(ctx, c.addressFor(EngineMySQL))
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "lc2-dump-")
	if err != nil {
		return "", nil, fmt.Errorf("create the client options dir: %w", err)
	}
	cleanup = func() { _ = os.RemoveAll(dir) } // best effort: the dir is private (0700)
	port := c.Port
	if port == 0 {
		port = 3306
	}
	var b strings.Builder
	b.WriteString("[client]\n")
	fmt.Fprintf(&b, "host=%s\nport=%d\nuser=%s\npassword=%s\nprotocol=TCP\n", optionValue(c.Host), port, optionValue(c.User), optionValue(password))
	switch c.SSLMode {
	case "disable":
		b.WriteString("skip-ssl\n")
	case "require":
		b.WriteString("ssl\n")
	case "verify-ca", "verify-full":
		b.WriteString("ssl\nssl-verify-server-cert\n")
	}
	if c.IAM != nil && cleartextGroup != "" {
		fmt.Fprintf(&b, "[%s]\nenable-cleartext-plugin\n", cleartextGroup)
	}
	path = filepath.Join(dir, "client.cnf")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("write the client options: %w", err)
	}
	return path, cleanup, nil
}

// optionValue quotes a value of an option file so that #, quotes, backslashes and
// surrounding spaces survive.
func optionValue(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}

// processes records how every process of a dump, verification or restore ended.
type processes struct {
	mu   sync.Mutex
	list []ProcessExit
}

func (p *processes) add(e ProcessExit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, e)
}

func (p *processes) all() []ProcessExit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ProcessExit(nil), p.list...)
}

// exitOf is how cmd ended, once waited for.
func exitOf(name string, args []string, cmd *exec.Cmd) ProcessExit {
	e := ProcessExit{Name: name, Args: args, ExitCode: -1}
	if cmd.ProcessState == nil {
		return e // never started: ExitCode -1 says so
	}
	e.ExitCode = cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal().String()
	}
	return e
}

// tailBuffer keeps the last bytes written to it: a tool's stderr, for the message
// of a failure, without growing with a chatty tool.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailBytes = 8 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailBytes {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailBytes:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}

// toolError is a tool that exited non-zero, was signalled or reported an error on
// stderr, with the end of its stderr.
type toolError struct {
	exit   ProcessExit
	stderr string
}

func (e *toolError) Error() string {
	how := fmt.Sprintf("exited with code %d", e.exit.ExitCode)
	if e.exit.Signal != "" {
		how = "was killed by signal " + e.exit.Signal
	} else if e.exit.ExitCode == 0 {
		how = "reported an error"
	}
	if e.stderr == "" {
		return e.exit.Name + " " + how
	}
	return fmt.Sprintf("%s %s: %s", e.exit.Name, how, lastLines(e.stderr, 3))
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}

// stderrError is a line of a tool's stderr that says the dump failed although
// the tool may still exit 0: mysqldump's "Error 2013: Lost connection", "Got error",
// "Couldn't execute"; pg_dump's "pg_dump: error:".
var stderrError = regexp.MustCompile(`(?mi)^(mariadb-dump|mysqldump|pg_dump|pg_restore|mariadb|mysql): (error|got error|couldn't)`)

// waitTool waits for a started tool, records its exit and returns a toolError when
// it failed.
func waitTool(cmd *exec.Cmd, name string, args []string, stderr *tailBuffer, procs *processes) error {
	waitErr := cmd.Wait()
	exit := exitOf(name, args, cmd)
	procs.add(exit)
	if waitErr != nil || exit.ExitCode != 0 || stderrError.MatchString(stderr.String()) {
		return &toolError{exit: exit, stderr: stderr.String()}
	}
	return nil
}
