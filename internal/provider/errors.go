package provider

import (
	"errors"
	"fmt"
	"strings"
)

// ErrorKind classifies provider failures so the controller can decide between
// retrying (transient) and failing the backup with an actionable reason (permanent).
type ErrorKind string

const (
	// KindNotFound: the instance, bucket, snapshot or object does not exist. Permanent.
	KindNotFound ErrorKind = "NotFound"
	// KindAccessDenied: credentials lack a permission. Permanent.
	KindAccessDenied ErrorKind = "AccessDenied"
	// KindConflict: the resource exists but belongs to someone else. Permanent.
	KindConflict ErrorKind = "Conflict"
	// KindInvalidInput: the request can never succeed as written. Permanent.
	KindInvalidInput ErrorKind = "InvalidInput"
	// KindNotSupported: the provider or feature is not implemented. Permanent.
	KindNotSupported ErrorKind = "NotSupported"
	// KindQuotaExceeded: an account quota (for example snapshot count) is hit. Permanent until someone acts.
	KindQuotaExceeded ErrorKind = "QuotaExceeded"
	// KindInvalidState: the resource is in a state that forbids the call (instance not available). Transient.
	KindInvalidState ErrorKind = "InvalidState"
	// KindThrottled: the provider asked us to slow down. Transient.
	KindThrottled ErrorKind = "Throttled"
	// KindTransient: 5xx, network errors, timeouts. Transient.
	KindTransient ErrorKind = "Transient"
)

// Error is a classified provider failure.
type Error struct {
	Kind ErrorKind
	// Op is the provider operation, for example "CreateDBSnapshot".
	Op string
	// Resource names what the operation was about (instance id, bucket/key).
	Resource string
	// Message is a short sentence for people (status messages, events): what failed
	// and where, for example "database instance bravo-ghost-db not found in us-east-1"
	// or "access denied to s3://liferay-backups/retail/manifest.json (s3:GetObject)".
	// It carries no SDK error chain and no request ids; Err keeps those for the logs.
	// Empty when the provider had nothing better to say than Err.
	Message string
	// Quota names the quota of a KindQuotaExceeded error, in words every provider
	// shares (QuotaSnapshot, QuotaInstance, QuotaStorage); empty when unknown.
	Quota string
	Err   error
}

// Quotas a KindQuotaExceeded error names (Error.Quota).
const (
	// QuotaSnapshot: the account's manual database snapshots (RDS SnapshotQuotaExceeded).
	QuotaSnapshot = "snapshot"
	// QuotaInstance: the account's database instances (RDS InstanceQuotaExceeded).
	QuotaInstance = "instance"
	// QuotaStorage: the account's total database storage (RDS StorageQuotaExceeded).
	QuotaStorage = "storage"
	// QuotaOther: a quota the provider did not name.
	QuotaOther = "other"
)

// QuotaOf is the quota a KindQuotaExceeded error names (QuotaOther when it names none).
func QuotaOf(err error) string {
	var pe *Error
	if errors.As(err, &pe) && pe.Quota != "" {
		return pe.Quota
	}
	return QuotaOther
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s: %s", e.Op, e.Resource, e.Kind)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// NewError builds a classified error.
func NewError(kind ErrorKind, op, resource string, err error) *Error {
	return &Error{Kind: kind, Op: op, Resource: resource, Err: err}
}

// Describe returns a short human description of err for status messages and events:
// the Message of the first *Error in err's chain that has one (wrapping *Errors
// without a Message are looked through), else err.Error() with surrounding
// whitespace trimmed. Describe(nil) is "".
func Describe(err error) string {
	if err == nil {
		return ""
	}
	for e := err; e != nil; {
		var pe *Error
		if !errors.As(e, &pe) {
			break
		}
		if pe.Message != "" {
			return pe.Message
		}
		e = pe.Err
	}
	return strings.TrimSpace(err.Error())
}

// WithMessage sets the error's Message and returns the error.
func (e *Error) WithMessage(message string) *Error {
	e.Message = message
	return e
}

// WithQuota sets the error's Quota and returns the error.
func (e *Error) WithQuota(quota string) *Error {
	e.Quota = quota
	return e
}

// KindOf returns the kind of the first *Error in err's chain, or KindTransient for
// unclassified errors (an unknown failure is retried rather than failing a backup).
func KindOf(err error) ErrorKind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return KindTransient
}

// IsPermanent reports whether retrying err cannot help.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	switch KindOf(err) {
	case KindNotFound, KindAccessDenied, KindConflict, KindInvalidInput, KindNotSupported, KindQuotaExceeded:
		return true
	}
	return false
}

// IsTransient reports whether err is worth retrying.
func IsTransient(err error) bool { return err != nil && !IsPermanent(err) }

// IsNotFound reports whether err is a KindNotFound error.
func IsNotFound(err error) bool { return err != nil && KindOf(err) == KindNotFound }
