package dump

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Engines a dump is taken of.
const (
	EnginePostgres = "postgres"
	EngineMySQL    = "mysql"
	EngineMariaDB  = "mariadb"
)

// Compressions of a SQL dump.
const (
	CompressionGzip = "gzip"
	CompressionZstd = "zstd"
	// compressionPG is pg_dump's own compression of a custom-format archive.
	compressionPG = "pg-internal"
)

// Formats of a dump.
const (
	FormatCustom = "custom"
	FormatSQL    = "sql"
)

// Authentications of a connection (EnvAuth).
const (
	AuthPassword = "password"
	AuthIAM      = "iam"
)

// Connection is where a database is and how to log in: the connection Secret's keys.
type Connection struct {
	// Engine is postgres, mysql or mariadb; empty: asked of the server itself.
	Engine   string
	Host     string
	Port     int
	Database string
	User     string
	Password string
	// SSLMode is libpq's sslmode (disable, allow, prefer, require, verify-ca,
	// verify-full); for MySQL/MariaDB disable, require and verify-* map onto the
	// client's TLS options. Empty: prefer.
	SSLMode string
	// SecretRef is "namespace/name" of the Secret the settings came from, so that a
	// message can name the Secret and the key to fix.
	SecretRef string
	// IAM, when set, logs in with an RDS IAM auth token minted per connection;
	// Password is then ignored.
	IAM *IAMAuth
}

// Config is one dump to take.
type Config struct {
	Connection
	// Bucket and Prefix are the backup's: the dump goes to layout.DumpKey(Prefix, ext).
	Bucket, Prefix string
	// SourceSnapshot is recorded in dump.json.
	SourceSnapshot string
	// Compression of a SQL dump: gzip (empty) or zstd.
	Compression string
	// StreamHook, when set, is called once when AfterBytes bytes of the dump (as
	// stored: compressed) have passed to the store, with the dump tool's process:
	// tests kill it there, mid-stream.
	StreamHook *StreamHook
}

// StreamHook is a test's handle on a dump in progress.
type StreamHook struct {
	AfterBytes int64
	Func       func(dumpTool *os.Process)
}

// RestoreConfig is one dump to restore into an empty database.
type RestoreConfig struct {
	// Connection is the target database; its engine must be the dump's.
	Connection
	// Bucket and Prefix are the backup's holding the dump and its dump.json.
	Bucket, Prefix string
	// ConfirmNonEmpty allows a target that already holds tables.
	ConfirmNonEmpty bool
	// ExpectSHA256 is the dump's SHA-256 as the backup's sealed manifest records it
	// ("" : not known); dump.json must record the same.
	ExpectSHA256 string
}

// Failure is a dump, verification or restore that failed for a reason a user can
// act on; Message names the setting or key, never a secret.
type Failure struct {
	Reason  Reason
	Message string
	Err     error
}

func (f *Failure) Error() string {
	if f.Err != nil {
		return f.Message + ": " + f.Err.Error()
	}
	return f.Message
}

func (f *Failure) Unwrap() error { return f.Err }

func fail(reason Reason, err error, format string, args ...any) *Failure {
	return &Failure{Reason: reason, Message: fmt.Sprintf(format, args...), Err: err}
}

// asFailure returns err as a Failure, an unclassified error as reason.
func asFailure(err error, reason Reason) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Reason: reason, Message: err.Error()}
}

// secretKey names a key of the connection Secret (and its variable) for a message.
func (c *Connection) secretKey(key, env string) string {
	if c.SecretRef == "" {
		return fmt.Sprintf("key %q (%s)", key, env)
	}
	return fmt.Sprintf("key %q of Secret %s", key, c.SecretRef)
}

// ConnectionFromEnv reads a Connection from the dumper's environment (env.go); a
// missing or malformed setting is a ReasonMissingSetting Failure naming its key.
func ConnectionFromEnv(getenv func(string) string) (Connection, error) {
	c := Connection{
		Engine: strings.ToLower(strings.TrimSpace(getenv(EnvEngine))), Host: getenv(EnvHost),
		Database: getenv(EnvDatabase), User: getenv(EnvUser), Password: getenv(EnvPassword),
		SSLMode: getenv(EnvSSLMode), SecretRef: getenv(EnvSecretRef),
	}
	iam := false
	switch auth := strings.ToLower(strings.TrimSpace(getenv(EnvAuth))); auth {
	case "", AuthPassword:
	case AuthIAM:
		iam = true
	default:
		return c, fail(ReasonMissingSetting, nil, "the setting %s is %q, not password or iam", EnvAuth, auth)
	}
	for _, s := range []struct{ value, key, env string }{
		{c.Host, SecretKeyHost, EnvHost}, {c.Database, SecretKeyDatabase, EnvDatabase},
		{c.User, SecretKeyUser, EnvUser}, {c.Password, SecretKeyPassword, EnvPassword},
	} {
		if s.value == "" && (!iam || s.key != SecretKeyPassword) {
			return c, fail(ReasonMissingSetting, nil, "the connection setting %s is missing or empty", c.secretKey(s.key, s.env))
		}
	}
	switch c.Engine {
	case "", EnginePostgres, EngineMySQL, EngineMariaDB:
	case "postgresql":
		c.Engine = EnginePostgres
	default:
		return c, fail(ReasonMissingSetting, nil, "the connection setting %s is %q, not postgres, mysql or mariadb", c.secretKey(SecretKeyEngine, EnvEngine), c.Engine)
	}
	if iam {
		// A token replaces the password; one left in the Secret is not used.
		region := getenv(EnvIAMRegion)
		if region == "" {
			return c, fail(ReasonMissingSetting, nil, "the setting %s is missing or empty: an RDS IAM token is signed for the instance's region", EnvIAMRegion)
		}
		sslMode, err := c.iamSSLMode()
		if err != nil {
			return c, err
		}
		c.Password, c.SSLMode, c.IAM = "", sslMode, NewIAMAuth(region)
	}
	if p := getenv(EnvPort); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return c, fail(ReasonMissingSetting, nil, "the connection setting %s is %q, not a port number", c.secretKey(SecretKeyPort, EnvPort), p)
		}
		c.Port = port
	}
	return c, nil
}

// ConfigFromEnv reads a backup's Config from the dumper's environment.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	conn, err := ConnectionFromEnv(getenv)
	cfg := Config{Connection: conn, Bucket: getenv(EnvBucket), Prefix: getenv(EnvPrefix),
		SourceSnapshot: getenv(EnvSourceSnapshot), Compression: strings.ToLower(getenv(EnvCompression))}
	if err != nil {
		return cfg, err
	}
	if cfg.Bucket == "" {
		return cfg, fail(ReasonMissingSetting, nil, "the setting %s is missing or empty", EnvBucket)
	}
	switch cfg.Compression {
	case "", CompressionGzip, CompressionZstd:
	default:
		return cfg, fail(ReasonMissingSetting, nil, "the setting %s is %q, not gzip or zstd", EnvCompression, cfg.Compression)
	}
	return cfg, nil
}

// defaultPort is the engine's usual port.
func defaultPort(engine string) int {
	if engine == EnginePostgres {
		return 5432
	}
	return 3306
}
