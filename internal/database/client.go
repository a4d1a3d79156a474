package database

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Client is the backup-history database. It is safe for concurrent use.
type Client struct {
	db      *sql.DB
	cfg     Config
	secrets []string
}

// Open prepares a connection pool for cfg. It does not connect: the controller
// starts while PostgreSQL is down, and the first query (or Ping) connects.
func Open(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, secrets: cfg.secrets()}
	connector, err := pq.NewConnector(cfg.dsn())
	if err != nil {
		return nil, c.wrap("parse connection settings", err)
	}
	c.db = sql.OpenDB(connector)
	maxOpen := cfg.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = 10
	}
	c.db.SetMaxOpenConns(maxOpen)
	c.db.SetMaxIdleConns(maxOpen)
	c.db.SetConnMaxIdleTime(5 * time.Minute)
	return c, nil
}

// wrap adds context to err and removes the password from its text.
func (c *Client) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return redact(fmt.Errorf("%s: %w", op, err), c.secrets)
}

// String describes the connection without the password.
func (c *Client) String() string { return c.cfg.String() }

// DB returns the underlying pool, for queries this package does not offer.
func (c *Client) DB() *sql.DB { return c.db }

// Ping checks that the database answers.
func (c *Client) Ping(ctx context.Context) error {
	return c.wrap("ping backup-history database", c.db.PingContext(ctx))
}

// Close closes the pool.
func (c *Client) Close() error { return c.db.Close() }
