package gcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// statusKinds maps the HTTP status of a Cloud Storage JSON API error to a kind.
var statusKinds = map[int]provider.ErrorKind{
	http.StatusBadRequest:   provider.KindInvalidInput,
	http.StatusUnauthorized: provider.KindAccessDenied,
	http.StatusForbidden:    provider.KindAccessDenied,
	http.StatusNotFound:     provider.KindNotFound,
	// A write-once precondition (ifGenerationMatch=0) met an existing object: the same
	// kind the AWS provider gives a name that already exists. Retrying cannot help.
	http.StatusPreconditionFailed: provider.KindConflict,
	http.StatusConflict:           provider.KindConflict,
	http.StatusTooManyRequests:    provider.KindThrottled,
	http.StatusServiceUnavailable: provider.KindThrottled,
}

// permissions names the IAM permission each operation needs, for access-denied messages.
var permissions = map[string]string{
	"objects.insert":  "storage.objects.create",
	"objects.get":     "storage.objects.get",
	"objects.list":    "storage.objects.list",
	"objects.delete":  "storage.objects.delete",
	"objects.rewrite": "storage.objects.get on the source, storage.objects.create on the destination",
	"buckets.get":     "storage.buckets.get",
}

// kindOf classifies an error of the Cloud Storage client.
func kindOf(err error) provider.ErrorKind {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return provider.KindTransient
	case errors.Is(err, storage.ErrObjectNotExist), errors.Is(err, storage.ErrBucketNotExist):
		return provider.KindNotFound
	}
	var apiErr *googleapi.Error
	if errors.As(err, &apiErr) {
		if kind, ok := statusKinds[apiErr.Code]; ok {
			return kind
		}
	}
	// 5xx, network errors and statuses we do not know: retrying is the safe default.
	return provider.KindTransient
}

// statusOf is the HTTP status of a JSON API error in err's chain, or 0.
func statusOf(err error) int {
	var apiErr *googleapi.Error
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	return 0
}

// classify wraps err in a *provider.Error whose kind tells the controller whether to
// retry and whose Message says in a sentence what failed where. op is the JSON API
// method ("objects.get"); bucket and key name the resource (key empty for a bucket).
// An error that already is a *provider.Error is returned unchanged.
func classify(op, bucket, key string, err error) error {
	if err == nil {
		return nil
	}
	var already *provider.Error
	if errors.As(err, &already) {
		return err
	}
	kind := kindOf(err)
	resource := bucket
	if key != "" {
		resource = bucket + "/" + key
	}
	return provider.NewError(kind, op, resource, err).WithMessage(describe(op, bucket, key, kind, err))
}

// describe is the sentence for people of a classified error: what failed, where, and
// for a denial the permission that is missing. It carries no request ids.
func describe(op, bucket, key string, kind provider.ErrorKind, err error) string {
	name := "bucket " + bucket
	if key != "" {
		name = fmt.Sprintf("gs://%s/%s", bucket, key)
	}
	switch kind {
	case provider.KindNotFound:
		// An upload or a listing names no existing object: its 404 is the bucket's.
		if key == "" || op == "objects.insert" || op == "objects.list" || bucketMissing(err) {
			return fmt.Sprintf("bucket %s does not exist", bucket)
		}
		return fmt.Sprintf("object %s does not exist (or bucket %s does not)", name, bucket)
	case provider.KindAccessDenied:
		return fmt.Sprintf("access denied to %s (%s): grant the controller's service account that permission", name, permissions[op])
	case provider.KindConflict:
		return fmt.Sprintf("%s already exists and may not be overwritten", name)
	case provider.KindThrottled:
		return fmt.Sprintf("Cloud Storage asked to slow down on %s (%s)", name, op)
	case provider.KindInvalidInput:
		return fmt.Sprintf("Cloud Storage refused %s on %s as invalid%s", op, name, serverMessage(err))
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s on %s timed out", op, name)
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("%s on %s was cancelled", op, name)
	}
	return fmt.Sprintf("%s on %s failed%s", op, name, serverMessage(err))
}

// bucketMissing reports whether a 404 is about the bucket rather than the object.
func bucketMissing(err error) bool {
	if errors.Is(err, storage.ErrBucketNotExist) {
		return true
	}
	var apiErr *googleapi.Error
	return errors.As(err, &apiErr) && strings.Contains(strings.ToLower(apiErr.Message), "bucket")
}

// serverMessage is ": " and the server's own message of a JSON API error, or the
// error's text for other failures, kept to one line.
func serverMessage(err error) string {
	var apiErr *googleapi.Error
	msg := err.Error()
	if errors.As(err, &apiErr) {
		msg = fmt.Sprintf("%d %s", apiErr.Code, apiErr.Message)
	}
	msg = strings.TrimSpace(strings.ReplaceAll(msg, "\n", " "))
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// invalidInput is the KindInvalidInput error of a request refused before calling
// Cloud Storage; msg is the sentence for people and the error text.
func invalidInput(op, resource, msg string) *provider.Error {
	return provider.NewError(provider.KindInvalidInput, op, resource, errors.New(msg)).WithMessage(msg)
}
