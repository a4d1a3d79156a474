package database

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvURL          = "DATABASE_URL"
	EnvHost         = "DB_HOST"
	EnvPort         = "DB_PORT"
	EnvName         = "DB_NAME"
	EnvUser         = "DB_USER"
	EnvPassword     = "DB_PASSWORD"
	EnvPasswordFile = "DB_PASSWORD_FILE"
	EnvSSLMode      = "DB_SSL_MODE"
)

// Defaults used when a variable is unset (those of the local environment,
// hack/postgres.sh, except the SSL mode, which is lib/pq's safe default).
const (
	DefaultHost    = "localhost"
	DefaultPort    = 5432
	DefaultName    = "backup_history"
	DefaultUser    = "backup"
	DefaultSSLMode = "require"
)

var sslModes = map[string]bool{"disable": true, "allow": true, "prefer": true, "require": true, "verify-ca": true, "verify-full": true}

// Config says how to reach the backup-history database. Either URL is set (a
// lib/pq connection URL or key=value string, which wins), or the separate fields.
// Its String, GoString and MarshalLog forms never contain the password.
type Config struct {
	URL      string `json:"-"`
	Host     string
	Port     int
	Name     string
	User     string
	Password string `json:"-"`
	SSLMode  string
	// ConnectTimeout bounds establishing one connection (default 5s).
	ConnectTimeout time.Duration
	// MaxOpenConns caps the connection pool (default 10).
	MaxOpenConns int
}

// ConfigFromEnv reads DATABASE_URL, or DB_HOST, DB_PORT, DB_NAME, DB_USER,
// DB_PASSWORD (or DB_PASSWORD_FILE, for a mounted Secret) and DB_SSL_MODE.
func ConfigFromEnv() (Config, error) {
	c := Config{URL: strings.TrimSpace(os.Getenv(EnvURL))}
	c.Host = envOr(EnvHost, DefaultHost)
	c.Name = envOr(EnvName, DefaultName)
	c.User = envOr(EnvUser, DefaultUser)
	c.SSLMode = envOr(EnvSSLMode, DefaultSSLMode)
	c.Port = DefaultPort
	if s := os.Getenv(EnvPort); s != "" {
		p, err := strconv.Atoi(s)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %q is not a port number", EnvPort, s)
		}
		c.Port = p
	}
	c.Password = os.Getenv(EnvPassword)
	if f := os.Getenv(EnvPasswordFile); f != "" {
		if c.Password != "" {
			return Config{}, fmt.Errorf("set only one of %s and %s", EnvPassword, EnvPasswordFile)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			// The path is not secret; the error from os names only the path.
			return Config{}, fmt.Errorf("read %s: %w", EnvPasswordFile, err)
		}
		c.Password = strings.TrimRight(string(b), "\r\n")
	}
	return c, c.Validate()
}

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}

// Validate reports a missing or malformed setting.
func (c Config) Validate() error {
	if c.URL != "" {
		return nil
	}
	switch {
	case c.Host == "":
		return errors.New("database config: host is empty (DB_HOST)")
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("database config: port %d out of range 1-65535 (DB_PORT)", c.Port)
	case c.Name == "":
		return errors.New("database config: database name is empty (DB_NAME)")
	case c.User == "":
		return errors.New("database config: user is empty (DB_USER)")
	case c.SSLMode != "" && !sslModes[c.SSLMode]:
		return fmt.Errorf("database config: ssl mode %q is not one of disable, allow, prefer, require, verify-ca, verify-full (DB_SSL_MODE)", c.SSLMode)
	}
	return nil
}

// dsn is the connection string handed to lib/pq. It holds the password: never log it.
func (c Config) dsn() string {
	if c.URL != "" {
		return c.URL
	}
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Path: "/" + c.Name}
	if c.Password != "" {
		u.User = url.UserPassword(c.User, c.Password)
	} else {
		u.User = url.User(c.User)
	}
	q := url.Values{}
	if c.SSLMode != "" {
		q.Set("sslmode", c.SSLMode)
	}
	timeout := c.ConnectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	q.Set("connect_timeout", strconv.Itoa(max(1, int(timeout.Seconds()))))
	u.RawQuery = q.Encode()
	return u.String()
}

// secrets returns the strings that must never be shown: the password, in plain
// and URL-escaped forms, including one embedded in URL.
func (c Config) secrets() []string {
	var out []string
	add := func(s string) {
		if s == "" {
			return
		}
		out = append(out, s, url.QueryEscape(s), url.PathEscape(s))
	}
	add(c.Password)
	if c.URL != "" {
		if u, err := url.Parse(c.URL); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok {
				add(p)
			}
		}
		// A URL too malformed to parse still must not show its password: take
		// what lies between "user:" and the last '@'.
		if _, rest, ok := strings.Cut(c.URL, "://"); ok {
			if at := strings.LastIndex(rest, "@"); at > 0 {
				if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
					add(pw)
				}
			}
		}
		for _, f := range strings.Fields(c.URL) { // key=value form
			if v, ok := strings.CutPrefix(f, "password="); ok {
				add(strings.Trim(v, "'"))
			}
		}
	}
	return out
}

// String describes the connection without the password.
func (c Config) String() string {
	if c.URL != "" {
		return redactString(c.URL, c.secrets())
	}
	pw := ""
	if c.Password != "" {
		pw = " password=" + redacted
	}
	return fmt.Sprintf("host=%s port=%d dbname=%s user=%s sslmode=%s%s", c.Host, c.Port, c.Name, c.User, c.SSLMode, pw)
}

// GoString is String, so %#v does not print the password either.
func (c Config) GoString() string { return c.String() }

// MarshalLog is String, for logr.
func (c Config) MarshalLog() any { return c.String() }
