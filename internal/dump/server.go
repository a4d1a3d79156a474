package dump

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// connectTimeout bounds each attempt to reach the server.
const connectTimeout = 15 * time.Second

// server is an open connection to the database to dump or restore into, with what
// the server said about itself.
type server struct {
	db     *sql.DB
	engine string // postgres, mysql or mariadb, as the server reports itself
	// version is what the server reported (server_version, SELECT version()).
	version string
	// major and minor of version: PostgreSQL's major is the first number (10 on).
	major, minor int
}

// connect opens conn's database and asks the server what it is. With no engine
// given, PostgreSQL's protocol is tried first: a MySQL server answers it with its
// own greeting, which fails at once, while the MySQL driver would wait for a
// greeting a PostgreSQL server never sends.
func connect(ctx context.Context, conn *Connection) (*server, error) {
	if conn.Engine == "" {
		s, err := connectPostgres(ctx, conn)
		var pqErr *pq.Error
		if err == nil || errors.As(err, &pqErr) || isAuthFailure(err) {
			return s, err
		}
		s, mysqlErr := connectMySQL(ctx, conn)
		if mysqlErr == nil {
			return s, nil
		}
		var myErr *mysql.MySQLError
		if errors.As(mysqlErr, &myErr) || isAuthFailure(mysqlErr) {
			return nil, mysqlErr
		}
		return nil, fail(ReasonConnectionFailed, errors.Join(err, mysqlErr),
			"could not reach a PostgreSQL or MySQL/MariaDB server at %s (set %s to say which)", conn.address(), conn.secretKey(SecretKeyEngine, EnvEngine))
	}
	if conn.Engine == EnginePostgres {
		return connectPostgres(ctx, conn)
	}
	return connectMySQL(ctx, conn)
}

func (c *Connection) address() string { return c.addressFor(c.Engine) }

// addressFor is host:port as a client of engine connects to it (the port defaults
// to the engine's): what an IAM token is minted for.
func (c *Connection) addressFor(engine string) string {
	port := c.Port
	if port == 0 {
		port = defaultPort(engine)
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

func isAuthFailure(err error) bool {
	var f *Failure
	return errors.As(err, &f) && f.Reason == ReasonAuthenticationFailed
}

// postgresURL is lib/pq's URL for conn, logging in with password.
func (c *Connection) postgresURL(password string) string {
	q := url.Values{}
	q.Set("sslmode", c.sslModeOr("prefer"))
	q.Set("connect_timeout", strconv.Itoa(int(connectTimeout/time.Second)))
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.User, password),
		Host: c.addressFor(EnginePostgres), Path: "/" + c.Database, RawQuery: q.Encode()}
	return u.String()
}

// pgConnector opens each connection with the password of that moment: with IAM, a
// token minted for it.
type pgConnector struct{ conn *Connection }

func (p pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	password, err := p.conn.secret(ctx, p.conn.addressFor(EnginePostgres))
	if err != nil {
		return nil, err
	}
	connector, err := pq.NewConnector(p.conn.postgresURL(password))
	if err != nil {
		return nil, p.conn.postgresSettingsFailure()
	}
	return connector.Connect(ctx)
}

func (pgConnector) Driver() driver.Driver { return &pq.Driver{} }

// postgresSettingsFailure is settings lib/pq refuses; its own error may quote the
// URL, password included, so it is left out.
func (c *Connection) postgresSettingsFailure() error {
	return fail(ReasonMissingSetting, nil, "the connection settings of %s do not make a PostgreSQL connection (check %s and %s)",
		c.secretName(), SecretKeyHost, SecretKeySSLMode)
}

func (c *Connection) sslModeOr(def string) string {
	if c.SSLMode == "" {
		return def
	}
	return c.SSLMode
}

func connectPostgres(ctx context.Context, conn *Connection) (*server, error) {
	// The settings are checked once here, without a credential: a failure to connect
	// is then the server's answer, not a malformed setting.
	if _, err := pq.NewConnector(conn.postgresURL("")); err != nil {
		return nil, conn.postgresSettingsFailure()
	}
	db := sql.OpenDB(pgConnector{conn: conn})
	s := &server{db: db, engine: EnginePostgres}
	var num int
	err := db.QueryRowContext(ctx, "SELECT current_setting('server_version'), current_setting('server_version_num')::int").Scan(&s.version, &num)
	if err != nil {
		return nil, errors.Join(conn.classify(err), db.Close())
	}
	// server_version_num is 150018 for 15.18, 90624 for 9.6.24.
	s.major, s.minor = num/10000, num/100%100
	if s.major < 10 {
		s.major, s.minor = num/10000*10+num/100%100, num%100 // 9.6 as 96: compared only against 10 and later
	}
	db.SetMaxOpenConns(2)
	return s, nil
}

func (c *Connection) secretName() string {
	if c.SecretRef == "" {
		return "the connection settings"
	}
	return "Secret " + c.SecretRef
}

func connectMySQL(ctx context.Context, conn *Connection) (*server, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = conn.User, conn.Password, conn.Database
	cfg.Net, cfg.Addr = "tcp", conn.address()
	cfg.Timeout = connectTimeout
	switch conn.SSLMode {
	case "", "prefer", "allow":
		cfg.TLSConfig = "preferred"
	case "disable":
		cfg.TLSConfig = "false"
	case "require":
		cfg.TLSConfig = "skip-verify"
	default:
		cfg.TLSConfig = "true"
	}
	if conn.IAM != nil {
		// RDS takes the token through the cleartext plugin, over TLS (the sslmode an
		// IAM login has is require or verify-*): minted for each connection.
		cfg.Passwd, cfg.AllowCleartextPasswords = "", true
		if err := cfg.Apply(mysql.BeforeConnect(func(ctx context.Context, c *mysql.Config) error {
			token, err := conn.secret(ctx, conn.addressFor(EngineMySQL))
			c.Passwd = token
			return err
		})); err != nil {
			return nil, fmt.Errorf("configure the MySQL connection: %w", err)
		}
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fail(ReasonMissingSetting, nil, "the connection settings of %s do not make a MySQL connection (check %s)", conn.secretName(), SecretKeySSLMode)
	}
	db := sql.OpenDB(connector)
	s := &server{db: db}
	if err := db.QueryRowContext(ctx, "SELECT version()").Scan(&s.version); err != nil {
		return nil, errors.Join(conn.classify(err), db.Close())
	}
	s.engine = EngineMySQL
	if strings.Contains(strings.ToLower(s.version), "mariadb") {
		s.engine = EngineMariaDB
	}
	var ok bool
	if s.major, s.minor, ok = majorMinor(s.version); !ok {
		return nil, errors.Join(fail(ReasonConnectionFailed, nil, "the server at %s reported a version %q this dumper cannot read", conn.address(), s.version), db.Close())
	}
	db.SetMaxOpenConns(2)
	return s, nil
}

// majorMinor reads "10.11.6-MariaDB-0+deb12u1" or "8.0.36" as 10, 11 or 8, 0.
func majorMinor(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return major, minor, err1 == nil && err2 == nil
}

// classify turns a failed login or query into the Failure a user can act on: a
// refused password names the Secret and its password key, never the value.
func (c *Connection) classify(err error) error {
	var f *Failure
	if errors.As(err, &f) {
		return f // already says what to fix (a token that could not be minted)
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case pqerror.InvalidPassword, pqerror.InvalidAuthorizationSpecification:
			return c.authFailure()
		case pqerror.InvalidCatalogName:
			return fail(ReasonConnectionFailed, nil, "database %q does not exist on %s (%s)", c.Database, c.address(), c.secretKey(SecretKeyDatabase, EnvDatabase))
		}
		return fail(ReasonConnectionFailed, nil, "the PostgreSQL server at %s refused the connection: %s", c.address(), pqErr.Message)
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case 1045, 1698: // ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR
			return c.authFailure()
		case 1044: // ER_DBACCESS_DENIED_ERROR
			return fail(ReasonAuthenticationFailed, nil, "user %q may not use database %q on %s (%s)", c.User, c.Database, c.address(), c.secretKey(SecretKeyDatabase, EnvDatabase))
		case 1049: // ER_BAD_DB_ERROR
			return fail(ReasonConnectionFailed, nil, "database %q does not exist on %s (%s)", c.Database, c.address(), c.secretKey(SecretKeyDatabase, EnvDatabase))
		}
		return fail(ReasonConnectionFailed, nil, "the MySQL/MariaDB server at %s refused the connection: %s", c.address(), myErr.Message)
	}
	// Network errors carry the address, never the password.
	return fail(ReasonConnectionFailed, err, "could not reach the database server at %s", c.address())
}

func (c *Connection) authFailure() error {
	if c.IAM != nil {
		return fail(ReasonAuthenticationFailed, nil, "the server at %s refused user %q's RDS IAM token: check that the dumper's AWS identity may rds-db:connect as %q in region %s, and that the user may log in with IAM (%s)",
			c.address(), c.User, c.User, c.IAM.Region, c.secretKey(SecretKeyUser, EnvUser))
	}
	return fail(ReasonAuthenticationFailed, nil, "the server at %s refused user %q: check %s (and %s)",
		c.address(), c.User, c.secretKey(SecretKeyPassword, EnvPassword), SecretKeyUser)
}

// sizeEstimate is the database's size on the server: what the part size is chosen from.
func (s *server) sizeEstimate(ctx context.Context) (int64, error) {
	q := "SELECT pg_database_size(current_database())"
	if s.engine != EnginePostgres {
		q = "SELECT CAST(COALESCE(SUM(data_length + index_length), 0) AS SIGNED) FROM information_schema.tables WHERE table_schema = DATABASE()"
	}
	var size int64
	if err := s.db.QueryRowContext(ctx, q).Scan(&size); err != nil {
		return 0, fmt.Errorf("estimate the database size: %w", err)
	}
	return size, nil
}

// querier is a database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// pinSnapshot opens a read-only repeatable-read transaction on PostgreSQL and
// exports its snapshot: pg_dump --snapshot then dumps exactly what the row counts,
// taken in the transaction, saw. The transaction must stay open until pg_dump has
// started; release ends it. ok is false where a snapshot cannot be exported (a
// server that refuses it): the counts are then taken just before the dump.
func (s *server) pinSnapshot(ctx context.Context) (tx *sql.Tx, snapshot string, ok bool) {
	if s.engine != EnginePostgres {
		return nil, "", false
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, "", false
	}
	if err := tx.QueryRowContext(ctx, "SELECT pg_export_snapshot()").Scan(&snapshot); err != nil {
		_ = tx.Rollback() // read-only: nothing to lose
		return nil, "", false
	}
	return tx, snapshot, true
}

// largestTables counts the rows of the n largest tables (by size on disk, then
// name), exactly, through q: the restore drill compares them.
func (s *server) largestTables(ctx context.Context, q querier, n int) ([]TableRows, error) {
	list := `SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
		quote_ident(n.nspname) || '.' || quote_ident(c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
		ORDER BY pg_total_relation_size(c.oid) DESC, 1 LIMIT $1`
	if s.engine != EnginePostgres {
		list = "SELECT table_name, CONCAT('`', REPLACE(table_name, '`', '``'), '`') FROM information_schema.tables " +
			"WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY data_length + index_length DESC, table_name LIMIT ?"
	}
	rows, err := q.QueryContext(ctx, list, n)
	if err != nil {
		return nil, fmt.Errorf("list the largest tables: %w", err)
	}
	var tables, quoted []string
	for rows.Next() {
		var name, ident string
		if err := rows.Scan(&name, &ident); err != nil {
			return nil, errors.Join(fmt.Errorf("list the largest tables: %w", err), rows.Close())
		}
		tables, quoted = append(tables, name), append(quoted, ident)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("list the largest tables: %w", err)
	}
	counts := make([]TableRows, len(tables))
	for i := range tables {
		counts[i].Table = tables[i]
		if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoted[i]).Scan(&counts[i].Rows); err != nil {
			return nil, fmt.Errorf("count the rows of %s: %w", tables[i], err)
		}
	}
	return counts, nil
}

// tableCount is the number of tables in the database: a restore refuses a target
// that has any.
func (s *server) tableCount(ctx context.Context) (int, error) {
	q := `SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'`
	if s.engine != EnginePostgres {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()"
	}
	var n int
	if err := s.db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the tables of the target database: %w", err)
	}
	return n, nil
}

// countRows counts the rows of table, named as largestTables names it: "name" for
// PostgreSQL's public schema, "schema.name" for another; a MySQL table by its name.
func (s *server) countRows(ctx context.Context, table string) (int64, error) {
	quoted := "`" + strings.ReplaceAll(table, "`", "``") + "`"
	if s.engine == EnginePostgres {
		schema, name := "public", table
		if i := strings.Index(table, "."); i > 0 {
			schema, name = table[:i], table[i+1:]
		}
		quoted = pq.QuoteIdentifier(schema) + "." + pq.QuoteIdentifier(name)
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoted).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the rows of %s: %w", table, err)
	}
	return n, nil
}
