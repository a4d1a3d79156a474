package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// errorCodeKinds maps Blob service error codes to provider error kinds.
var errorCodeKinds = map[bloberror.Code]provider.ErrorKind{
	bloberror.ContainerNotFound:     provider.KindNotFound,
	bloberror.BlobNotFound:          provider.KindNotFound,
	bloberror.ResourceNotFound:      provider.KindNotFound,
	bloberror.ContainerBeingDeleted: provider.KindNotFound,

	bloberror.AuthenticationFailed:              provider.KindAccessDenied,
	bloberror.AuthorizationFailure:              provider.KindAccessDenied,
	bloberror.AuthorizationPermissionMismatch:   provider.KindAccessDenied,
	bloberror.AuthorizationProtocolMismatch:     provider.KindAccessDenied,
	bloberror.AuthorizationResourceTypeMismatch: provider.KindAccessDenied,
	bloberror.AuthorizationServiceMismatch:      provider.KindAccessDenied,
	bloberror.AuthorizationSourceIPMismatch:     provider.KindAccessDenied,
	bloberror.InsufficientAccountPermissions:    provider.KindAccessDenied,
	bloberror.AccountIsDisabled:                 provider.KindAccessDenied,
	bloberror.InvalidAuthenticationInfo:         provider.KindAccessDenied,
	bloberror.NoAuthenticationInformation:       provider.KindAccessDenied,

	// A write-once write (If-None-Match: *) onto a blob that exists: retrying cannot
	// help, the blob is someone's. A copy under SkipExisting reads it as "kept".
	bloberror.BlobAlreadyExists:     provider.KindConflict,
	bloberror.ConditionNotMet:       provider.KindConflict,
	bloberror.TargetConditionNotMet: provider.KindConflict,

	bloberror.InvalidResourceName:      provider.KindInvalidInput,
	bloberror.InvalidMetadata:          provider.KindInvalidInput,
	bloberror.OutOfRangeInput:          provider.KindInvalidInput,
	bloberror.InvalidBlobType:          provider.KindInvalidInput,
	bloberror.InvalidSourceBlobType:    provider.KindInvalidInput,
	bloberror.InvalidBlobTier:          provider.KindInvalidInput,
	bloberror.BlobArchived:             provider.KindInvalidInput,
	bloberror.RequestBodyTooLarge:      provider.KindInvalidInput,
	bloberror.UnsupportedHeader:        provider.KindInvalidInput,
	bloberror.FeatureVersionMismatch:   provider.KindNotSupported,
	bloberror.BlobImmutableDueToPolicy: provider.KindAccessDenied,

	// A copy's source changed after it was read: a retry copies the new version.
	bloberror.SourceConditionNotMet: provider.KindTransient,

	bloberror.ServerBusy:        provider.KindThrottled,
	bloberror.OperationTimedOut: provider.KindTransient,
	bloberror.InternalError:     provider.KindTransient,
}

// kindOf classifies an SDK error by its error code, else its HTTP status.
func kindOf(err error) provider.ErrorKind {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return provider.KindTransient
	}
	var respErr *azcore.ResponseError
	if !errors.As(err, &respErr) {
		return provider.KindTransient // network errors: retrying is the safe default
	}
	if kind, ok := errorCodeKinds[bloberror.Code(respErr.ErrorCode)]; ok {
		return kind
	}
	switch respErr.StatusCode {
	case http.StatusNotFound:
		return provider.KindNotFound
	case http.StatusForbidden, http.StatusUnauthorized:
		return provider.KindAccessDenied
	case http.StatusConflict, http.StatusPreconditionFailed:
		return provider.KindConflict
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return provider.KindThrottled
	case http.StatusBadRequest, http.StatusRequestedRangeNotSatisfiable, http.StatusRequestEntityTooLarge:
		return provider.KindInvalidInput
	}
	return provider.KindTransient
}

// errorCode returns the Blob service error code in err's chain, or "".
func errorCode(err error) bloberror.Code {
	var respErr *azcore.ResponseError
	if errors.As(err, &respErr) {
		return bloberror.Code(respErr.ErrorCode)
	}
	return ""
}

// statusCode returns the HTTP status in err's chain, or 0.
func statusCode(err error) int {
	var respErr *azcore.ResponseError
	if errors.As(err, &respErr) {
		return respErr.StatusCode
	}
	return 0
}

// classify wraps err in a *provider.Error whose Message says in a sentence what failed
// where. resource is "<container>" or "<container>/<blob>"; an error that already is a
// *provider.Error is returned unchanged.
func (p *Provider) classify(op, resource string, err error) error {
	if err == nil {
		return nil
	}
	var already *provider.Error
	if errors.As(err, &already) {
		return err
	}
	kind := kindOf(err)
	return provider.NewError(kind, op, resource, err).WithMessage(p.describe(op, resource, kind, err))
}

// roles names the built-in role an operation needs, for access-denied messages.
var roles = map[string]string{
	"GetContainerProperties": "Storage Blob Data Reader",
	"ListBlobs":              "Storage Blob Data Reader",
	"DownloadBlob":           "Storage Blob Data Reader",
	"GetBlobProperties":      "Storage Blob Data Reader",
	"GetBlockList":           "Storage Blob Data Reader",
	"UploadBlob":             "Storage Blob Data Contributor",
	"DeleteBlob":             "Storage Blob Data Contributor",
	"CopyFromURL":            "Storage Blob Data Reader on the source, Storage Blob Data Contributor on the destination",
	"StageBlockFromURL":      "Storage Blob Data Reader on the source, Storage Blob Data Contributor on the destination",
	"CommitBlockList":        "Storage Blob Data Contributor",
	"CopyObjectStorage":      "Storage Blob Data Reader on the source, Storage Blob Data Contributor on the destination",
}

// describe is the Message of a failure of op on resource: one sentence naming the
// container or blob and the storage account, what went wrong and, for a denial, the
// role it needs. It never includes the SDK's error chain or request ids.
func (p *Provider) describe(op, resource string, kind provider.ErrorKind, err error) string {
	container, blobName, isBlob := strings.Cut(resource, "/")
	code := errorCode(err)
	where := fmt.Sprintf("in storage account %s", p.account)
	switch kind {
	case provider.KindNotFound:
		if code == bloberror.ContainerNotFound || code == bloberror.ContainerBeingDeleted || !isBlob {
			return fmt.Sprintf("container %s does not exist %s", container, where)
		}
		return fmt.Sprintf("blob %s in container %s does not exist %s", blobName, container, where)
	case provider.KindAccessDenied:
		msg := fmt.Sprintf("access denied to %s %s (%s)", subject(resource), where, op)
		if role := roles[op]; role != "" {
			msg += "; the controller's identity needs " + role
		}
		if code != "" {
			msg += " [" + string(code) + "]"
		}
		return msg
	case provider.KindConflict:
		return fmt.Sprintf("%s already exists %s and may not be overwritten (%s)", subject(resource), where, op)
	case provider.KindThrottled:
		return fmt.Sprintf("storage account %s is throttling requests (%s on %s); the operation will be retried", p.account, op, subject(resource))
	}
	msg := fmt.Sprintf("%s of %s %s failed", op, subject(resource), where)
	if code != "" {
		msg += " with " + string(code)
	} else if status := statusCode(err); status != 0 {
		msg += fmt.Sprintf(" with HTTP %d", status)
	} else if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		msg += ": " + err.Error()
	} else {
		msg += ": the storage account could not be reached"
	}
	return msg
}

// subject names a resource in a message: "container c" or "blob c/k".
func subject(resource string) string {
	if strings.Contains(resource, "/") {
		return "blob " + resource
	}
	return "container " + resource
}

// invalidInput is the KindInvalidInput error of a request refused before calling
// Azure; msg is the sentence for people and the error text.
func invalidInput(op, resource, msg string) *provider.Error {
	return provider.NewError(provider.KindInvalidInput, op, resource, errors.New(msg)).WithMessage(msg)
}
