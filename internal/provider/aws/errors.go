package aws

import (
	"context"
	"errors"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// errorCodeKinds maps S3 and RDS error codes to provider error kinds. RDS codes appear
// both with and without the "Fault" suffix depending on the server, so both are listed.
var errorCodeKinds = map[string]provider.ErrorKind{
	// Missing things.
	"NoSuchBucket":            provider.KindNotFound,
	"NoSuchKey":               provider.KindNotFound,
	"NoSuchVersion":           provider.KindNotFound,
	"NotFound":                provider.KindNotFound, // HEAD responses carry no body
	"NoSuchUpload":            provider.KindNotFound,
	"DBInstanceNotFound":      provider.KindNotFound,
	"DBInstanceNotFoundFault": provider.KindNotFound,
	"DBSnapshotNotFound":      provider.KindNotFound,
	"DBSnapshotNotFoundFault": provider.KindNotFound,
	// What a restore names besides the snapshot (describe says which).
	"DBSubnetGroupNotFoundFault":    provider.KindNotFound,
	"DBParameterGroupNotFound":      provider.KindNotFound,
	"DBParameterGroupNotFoundFault": provider.KindNotFound,
	"OptionGroupNotFoundFault":      provider.KindNotFound,
	"DBSecurityGroupNotFound":       provider.KindNotFound,
	"DBSecurityGroupNotFoundFault":  provider.KindNotFound,

	// Credentials and permissions.
	"AccessDenied":                provider.KindAccessDenied,
	"AccessDeniedException":       provider.KindAccessDenied,
	"Forbidden":                   provider.KindAccessDenied, // HEAD 403
	"AllAccessDisabled":           provider.KindAccessDenied,
	"AccountProblem":              provider.KindAccessDenied,
	"InvalidAccessKeyId":          provider.KindAccessDenied,
	"InvalidClientTokenId":        provider.KindAccessDenied,
	"SignatureDoesNotMatch":       provider.KindAccessDenied,
	"UnauthorizedOperation":       provider.KindAccessDenied,
	"UnrecognizedClientException": provider.KindAccessDenied,
	"KMSKeyNotAccessibleFault":    provider.KindAccessDenied,

	// Someone else's resource under our name.
	"DBSnapshotAlreadyExists":      provider.KindConflict,
	"DBSnapshotAlreadyExistsFault": provider.KindConflict,
	"DBInstanceAlreadyExists":      provider.KindConflict,
	"DBInstanceAlreadyExistsFault": provider.KindConflict,
	"BucketAlreadyOwnedByYou":      provider.KindConflict,

	// Quotas.
	"SnapshotQuotaExceeded":      provider.KindQuotaExceeded,
	"SnapshotQuotaExceededFault": provider.KindQuotaExceeded,
	"InstanceQuotaExceeded":      provider.KindQuotaExceeded,
	"InstanceQuotaExceededFault": provider.KindQuotaExceeded,
	"StorageQuotaExceeded":       provider.KindQuotaExceeded,
	"StorageQuotaExceededFault":  provider.KindQuotaExceeded,

	// States that pass with time (an instance being modified, a snapshot still creating).
	"InvalidDBInstanceState":      provider.KindInvalidState,
	"InvalidDBInstanceStateFault": provider.KindInvalidState,
	"InvalidDBSnapshotState":      provider.KindInvalidState,
	"InvalidDBSnapshotStateFault": provider.KindInvalidState,
	"InvalidDBClusterStateFault":  provider.KindInvalidState,

	// Requests that can never succeed as written.
	"InvalidParameterValue":        provider.KindInvalidInput,
	"InvalidParameterCombination":  provider.KindInvalidInput,
	"InvalidBucketName":            provider.KindInvalidInput,
	"InvalidArgument":              provider.KindInvalidInput,
	"KeyTooLongError":              provider.KindInvalidInput,
	"EntityTooLarge":               provider.KindInvalidInput,
	"InvalidObjectState":           provider.KindInvalidInput, // archived (Glacier) objects
	"InvalidStorageClass":          provider.KindInvalidInput,
	"InvalidVPCNetworkStateFault":  provider.KindInvalidInput,
	"InvalidSubnet":                provider.KindInvalidInput,
	"StorageTypeNotSupported":      provider.KindInvalidInput,
	"StorageTypeNotSupportedFault": provider.KindInvalidInput,
	"InvalidRestoreFault":          provider.KindInvalidInput,

	// Throttling.
	"SlowDown":                 provider.KindThrottled,
	"Throttling":               provider.KindThrottled,
	"ThrottlingException":      provider.KindThrottled,
	"RequestLimitExceeded":     provider.KindThrottled,
	"TooManyRequestsException": provider.KindThrottled,
	"RequestThrottled":         provider.KindThrottled,
	"BandwidthLimitExceeded":   provider.KindThrottled,
}

// classify wraps err in a *provider.Error whose kind tells the controller whether to
// retry and whose Message says in a sentence what failed where (see describe). An
// error that already is a *provider.Error is returned unchanged.
//
// This form knows no region, so its messages about RDS resources name none; code
// with a *Provider at hand uses p.classify. Messages about S3 are the same either way
// (bucket names are global).
func classify(op, resource string, err error) error {
	return classifyIn("", op, resource, err)
}

// classify is classify with the provider's region in messages about RDS resources,
// for example "database instance bravo-ghost-db not found in us-east-1".
func (p *Provider) classify(op, resource string, err error) error {
	return classifyIn(p.region, op, resource, err)
}

// notFound is the KindNotFound error of a description that came back empty (RDS
// answers DescribeDB* of a missing identifier with an error, emulators sometimes with
// an empty list).
func (p *Provider) notFound(op, resource string) *provider.Error {
	msg := describe(p.region, op, resource, provider.KindNotFound, nil)
	return provider.NewError(provider.KindNotFound, op, resource, errors.New(msg)).WithMessage(msg)
}

// invalidInput is the KindInvalidInput error of a request refused before calling AWS;
// msg is the sentence for people and the error text.
func invalidInput(op, resource, msg string) *provider.Error {
	return provider.NewError(provider.KindInvalidInput, op, resource, errors.New(msg)).WithMessage(msg)
}

// conflict is the KindConflict error of a resource found to belong to someone else;
// msg is the sentence for people and the error text.
func conflict(op, resource, msg string) *provider.Error {
	return provider.NewError(provider.KindConflict, op, resource, errors.New(msg)).WithMessage(msg)
}

func classifyIn(region, op, resource string, err error) error {
	return classifyAs(region, op, operationOf(op), resource, err)
}

// classifyCopy is classify for a copy. One that reads a given version of its source
// (a point-in-time copy) needs s3:GetObjectVersion instead of s3:GetObject, and an
// access denial says so.
func classifyCopy(op, resource string, versioned bool, err error) error {
	info := operationOf(op)
	if versioned {
		info.action = versionedCopyActions
	}
	return classifyAs("", op, info, resource, err)
}

// classifyAs is classifyIn with op's action and subject given.
func classifyAs(region, op string, info operation, resource string, err error) error {
	if err == nil {
		return nil
	}
	var already *provider.Error
	if errors.As(err, &already) {
		return err
	}
	kind := kindOf(err)
	pe := provider.NewError(kind, op, resource, err).WithMessage(describeOperation(region, op, info, resource, kind, err))
	if kind == provider.KindQuotaExceeded {
		pe.Quota = quotaOf(errorCode(err))
	}
	return pe
}

// quotaOf names the quota an RDS quota error code is about.
func quotaOf(code string) string {
	switch strings.TrimSuffix(code, "Fault") {
	case "SnapshotQuotaExceeded":
		return provider.QuotaSnapshot
	case "InstanceQuotaExceeded":
		return provider.QuotaInstance
	case "StorageQuotaExceeded":
		return provider.QuotaStorage
	}
	return provider.QuotaOther
}

func kindOf(err error) provider.ErrorKind {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return provider.KindTransient
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if kind, ok := errorCodeKinds[apiErr.ErrorCode()]; ok {
			return kind
		}
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		switch respErr.HTTPStatusCode() {
		case 404:
			return provider.KindNotFound
		case 403, 401:
			return provider.KindAccessDenied
		case 429, 503:
			return provider.KindThrottled
		}
	}
	// 5xx, network errors and codes we do not know: retrying is the safe default.
	return provider.KindTransient
}

// errorCode returns the API error code in err's chain, or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
