package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/lib/pq"
)

// ErrNotFound is returned when no record matches.
var ErrNotFound = errors.New("record not found")

const redacted = "xxxxx"

func redactString(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

// redactedError carries an error whose text contained a secret. It does not
// unwrap to the original, whose text still holds the secret.
type redactedError struct {
	msg       string
	retryable bool
}

func (e *redactedError) Error() string { return e.msg }

// redact returns err unchanged unless its text contains one of secrets.
func redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := redactString(msg, secrets)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, retryable: IsRetryable(err)}
}

// IsRetryable reports whether err is a connection or server-availability
// failure worth retrying with backoff (as opposed to invalid data or SQL).
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var re *redactedError
	if errors.As(err, &re) {
		return re.retryable
	}
	var ve *ValidationError
	if errors.As(err, &ve) || errors.Is(err, ErrNotFound) || errors.Is(err, context.Canceled) {
		return false
	}
	if e := pq.As(err); e != nil {
		switch e.Code.Class() {
		case "08", // connection exception
			"53", // insufficient resources (too many connections)
			"57": // operator intervention (shutdown, cannot connect now)
			return true
		}
		switch e.Code {
		case "40001", "40P01": // serialization failure, deadlock
			return true
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}
