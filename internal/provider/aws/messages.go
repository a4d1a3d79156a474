package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// operation is what describe knows about a provider operation: the IAM action it
// needs and what its resource string names.
type operation struct {
	action  string
	subject subjectKind
}

type subjectKind int

const (
	subjectOther subjectKind = iota
	// subjectInstance: the resource is an RDS instance identifier.
	subjectInstance
	// subjectInstanceSnapshot: the resource is "<instance>/<snapshot>".
	subjectInstanceSnapshot
	// subjectSnapshot: the resource is an RDS snapshot identifier.
	subjectSnapshot
	// subjectBucket: the resource is a bucket name.
	subjectBucket
	// subjectObject: the resource is "<bucket>/<key>" (or a prefix, or "<bucket>/<key> part N").
	subjectObject
	// subjectCopy: like subjectObject, for copies (reading the source, writing the destination).
	subjectCopy
)

const (
	copyActions = "s3:GetObject on the source, s3:PutObject on the destination"
	// versionedCopyActions: reading a given version of the source (a point-in-time
	// copy) needs s3:GetObjectVersion instead.
	versionedCopyActions = "s3:GetObjectVersion on the source, s3:PutObject on the destination"
)

// operations lists every operation the provider classifies errors of.
var operations = map[string]operation{
	"DescribeDBInstances": {"rds:DescribeDBInstances", subjectInstance},
	"ListTagsForResource": {"rds:ListTagsForResource", subjectInstance},
	"CreateDBSnapshot":    {"rds:CreateDBSnapshot", subjectInstanceSnapshot},
	"DescribeDBSnapshots": {"rds:DescribeDBSnapshots", subjectSnapshot},
	"DeleteDBSnapshot":    {"rds:DeleteDBSnapshot", subjectSnapshot},
	"DeleteDBInstance":    {"rds:DeleteDBInstance", subjectInstance},

	"RestoreDBInstanceFromDBSnapshot": {"rds:RestoreDBInstanceFromDBSnapshot", subjectInstanceSnapshot},

	"HeadBucket":          {"s3:ListBucket", subjectBucket},
	"GetBucketTagging":    {"s3:GetBucketTagging", subjectBucket},
	"GetBucketVersioning": {"s3:GetBucketVersioning", subjectBucket},

	"ListObjectsV2":           {"s3:ListBucket", subjectObject},
	"ListObjectVersions":      {"s3:ListBucketVersions", subjectObject},
	"GetObject":               {"s3:GetObject", subjectObject},
	"HeadObject":              {"s3:GetObject", subjectObject},
	"PutObject":               {"s3:PutObject", subjectObject},
	"CreateMultipartUpload":   {"s3:PutObject", subjectObject},
	"CompleteMultipartUpload": {"s3:PutObject", subjectObject},
	"UploadPart":              {"s3:PutObject", subjectObject},
	"UploadStream":            {"s3:PutObject", subjectObject},
	"AbortMultipartUpload":    {"s3:AbortMultipartUpload", subjectObject},
	"DeleteObjects":           {"s3:DeleteObject", subjectObject},
	"CopyObject":              {copyActions, subjectCopy},
	"UploadPartCopy":          {copyActions, subjectCopy},
	"CopyObjectStorage":       {copyActions, subjectCopy},
}

// credentialCodes are AccessDenied codes about the credentials themselves rather than
// a missing permission.
var credentialCodes = map[string]bool{
	"InvalidAccessKeyId":          true,
	"InvalidClientTokenId":        true,
	"SignatureDoesNotMatch":       true,
	"UnrecognizedClientException": true,
	"AccountProblem":              true,
	"AllAccessDisabled":           true,
}

// maxServerMessage caps the server's own explanation quoted in a message.
const maxServerMessage = 200

// describe is the provider.Error Message of a failure of op on resource: one sentence
// naming the resource (and the region, for RDS), what went wrong and, where it helps,
// the IAM action or the AWS error code. It never includes the SDK's error chain or
// request ids. err may be nil (a failure found without an AWS error).
func describe(region, op, resource string, kind provider.ErrorKind, err error) string {
	return describeOperation(region, op, operationOf(op), resource, kind, err)
}

// operationOf is what the messages say of op: its IAM action and what its resource names.
func operationOf(op string) operation {
	if info, known := operations[op]; known {
		return info
	}
	return operation{action: op, subject: subjectOther}
}

// describeOperation is describe with op's action and subject given.
func describeOperation(region, op string, info operation, resource string, kind provider.ErrorKind, err error) string {
	code, serverMsg := apiError(err)
	s := newSubject(info.subject, resource, region)
	if strings.HasPrefix(code, "DBSnapshot") && s.snapshot != "" {
		s.name = s.snapshotName() // the instance exists; its snapshot is the matter
	}
	in := s.where()

	switch kind {
	case provider.KindNotFound:
		switch {
		case (code == "NoSuchBucket" || info.subject == subjectBucket) && s.bucket != "":
			return fmt.Sprintf("bucket %s does not exist", s.bucket)
		case code == "NoSuchUpload":
			return fmt.Sprintf("multipart upload to %s no longer exists", s.name)
		case info.subject == subjectObject || info.subject == subjectCopy:
			return fmt.Sprintf("object %s does not exist", s.name)
		case s.isRDS() && code != "" && !strings.HasPrefix(code, "DBInstance") && !strings.HasPrefix(code, "DBSnapshot"):
			// A subnet, parameter, option or security group the request names.
			return fmt.Sprintf("AWS refused %s on %s%s: something it names does not exist%s", op, s.name, in, codeSuffix(code, serverMsg))
		}
		return fmt.Sprintf("%s not found%s", s.name, in)

	case provider.KindAccessDenied:
		switch {
		case credentialCodes[code]:
			return fmt.Sprintf("AWS rejected the controller's credentials (%s) for %s on %s%s", code, info.action, s.name, in)
		case strings.HasPrefix(code, "KMSKeyNotAccessible"):
			return fmt.Sprintf("the KMS key of %s%s is not accessible (%s)", s.name, in, code)
		case info.subject == subjectCopy:
			return fmt.Sprintf("access denied copying %s (%s)", s.name, info.action)
		}
		return fmt.Sprintf("access denied to %s%s (%s)", s.name, in, info.action)

	case provider.KindConflict:
		switch code {
		case "DBSnapshotAlreadyExists", "DBSnapshotAlreadyExistsFault":
			return fmt.Sprintf("%s already exists%s", s.snapshotName(), in)
		case "DBInstanceAlreadyExists", "DBInstanceAlreadyExistsFault":
			return fmt.Sprintf("%s already exists%s", s.instanceName(), in)
		case "BucketAlreadyOwnedByYou", "BucketAlreadyExists":
			return fmt.Sprintf("bucket %s already exists", s.bucket)
		}
		return fmt.Sprintf("%s%s conflicts with an existing resource%s", s.name, in, codeSuffix(code, serverMsg))

	case provider.KindQuotaExceeded:
		if strings.HasPrefix(code, "SnapshotQuotaExceeded") {
			return fmt.Sprintf("manual snapshot quota of the account exceeded%s (%s), cannot snapshot %s: "+
				"delete unneeded manual snapshots or raise the RDS quota", in, code, s.instanceName())
		}
		return fmt.Sprintf("quota exceeded for %s on %s%s%s", op, s.name, in, codeSuffix(code, serverMsg))

	case provider.KindInvalidInput:
		if code == "InvalidObjectState" {
			return fmt.Sprintf("object %s is archived (InvalidObjectState): restore it or exclude it from the backup", s.name)
		}
		return fmt.Sprintf("AWS refused %s on %s%s as invalid%s", op, s.name, in, codeSuffix(code, serverMsg))

	case provider.KindInvalidState:
		return fmt.Sprintf("%s%s is not in a state that allows %s%s", s.name, in, op, codeSuffix(code, ""))

	case provider.KindThrottled:
		return fmt.Sprintf("%s throttled %s on %s%s%s", s.service(), op, s.name, in, codeSuffix(statusOrCode(code, err), ""))
	}

	// Transient and anything else: say how it failed without the chain.
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("%s on %s%s cancelled", op, s.name, in)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s on %s%s timed out", op, s.name, in)
	}
	var sendErr *smithyhttp.RequestSendError
	if errors.As(err, &sendErr) {
		return fmt.Sprintf("could not reach %s for %s on %s%s (network error)", s.service(), op, s.name, in)
	}
	return fmt.Sprintf("%s on %s%s failed%s", op, s.name, in, codeSuffix(statusOrCode(code, err), ""))
}

// subject renders a resource string for people.
type subject struct {
	kind     subjectKind
	name     string // "database instance x", "s3://bucket/key", ...
	region   string
	bucket   string
	instance string
	snapshot string
}

func newSubject(kind subjectKind, resource, region string) subject {
	s := subject{kind: kind, region: region}
	switch kind {
	case subjectInstance:
		s.instance = resource
		s.name = "database instance " + resource
	case subjectInstanceSnapshot:
		s.instance, s.snapshot, _ = strings.Cut(resource, "/")
		s.name = "database instance " + s.instance
	case subjectSnapshot:
		s.snapshot = resource
		s.name = "database snapshot " + resource
	case subjectBucket:
		s.bucket = resource
		s.name = "bucket " + resource
	case subjectObject, subjectCopy:
		s.bucket, _, _ = strings.Cut(resource, "/")
		s.name = "s3://" + resource
	default:
		s.name = resource
	}
	return s
}

func (s subject) isRDS() bool {
	return s.kind == subjectInstance || s.kind == subjectInstanceSnapshot || s.kind == subjectSnapshot
}

// where is " in <region>" for RDS resources when the region is known.
func (s subject) where() string {
	if s.isRDS() && s.region != "" {
		return " in " + s.region
	}
	return ""
}

func (s subject) service() string {
	if s.isRDS() {
		return "RDS"
	}
	if s.kind == subjectOther {
		return "AWS"
	}
	return "S3"
}

func (s subject) snapshotName() string {
	if s.snapshot == "" {
		return s.name
	}
	return "database snapshot " + s.snapshot
}

func (s subject) instanceName() string {
	if s.instance == "" {
		return s.name
	}
	return "database instance " + s.instance
}

// apiError returns the AWS error code and the server's message in err's chain.
func apiError(err error) (code, message string) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	return "", ""
}

// statusOrCode is the error code, else "HTTP <status>" of a response without one.
func statusOrCode(code string, err error) string {
	if code != "" {
		return code
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() != 0 {
		return fmt.Sprintf("HTTP %d", respErr.HTTPStatusCode())
	}
	return ""
}

// codeSuffix is " (<code>: <server message>)", shortened, or "" without a code.
func codeSuffix(code, serverMsg string) string {
	if code == "" {
		return ""
	}
	serverMsg = strings.Join(strings.Fields(serverMsg), " ")
	if serverMsg == "" {
		return " (" + code + ")"
	}
	if r := []rune(serverMsg); len(r) > maxServerMessage {
		serverMsg = strings.TrimSpace(string(r[:maxServerMessage])) + "..."
	}
	return fmt.Sprintf(" (%s: %s)", code, serverMsg)
}
