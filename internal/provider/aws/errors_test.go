package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

func responseError(status int, err error) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      err,
	}}
}

func TestClassifyMapsCodesAndStatuses(t *testing.T) {
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	cases := []struct {
		err  error
		kind provider.ErrorKind
	}{
		{api("NoSuchBucket"), provider.KindNotFound},
		{api("DBInstanceNotFound"), provider.KindNotFound},
		{api("DBSnapshotNotFoundFault"), provider.KindNotFound},
		{api("AccessDenied"), provider.KindAccessDenied},
		{api("InvalidAccessKeyId"), provider.KindAccessDenied},
		{api("DBSnapshotAlreadyExists"), provider.KindConflict},
		{api("SnapshotQuotaExceeded"), provider.KindQuotaExceeded},
		{api("InvalidDBInstanceState"), provider.KindInvalidState},
		{api("InvalidObjectState"), provider.KindInvalidInput},
		{api("SlowDown"), provider.KindThrottled},
		{api("SomethingNew"), provider.KindTransient},
		{responseError(404, errors.New("no body")), provider.KindNotFound},
		{responseError(403, errors.New("no body")), provider.KindAccessDenied},
		{responseError(503, errors.New("no body")), provider.KindThrottled},
		{responseError(500, errors.New("no body")), provider.KindTransient},
		{fmt.Errorf("wrapped: %w", responseError(400, api("NoSuchKey"))), provider.KindNotFound},
		{context.Canceled, provider.KindTransient},
		{context.DeadlineExceeded, provider.KindTransient},
		{errors.New("connection reset by peer"), provider.KindTransient},
	}
	for _, c := range cases {
		err := classify("Op", "resource", c.err)
		if provider.KindOf(err) != c.kind {
			t.Errorf("classify(%v) = %s, want %s", c.err, provider.KindOf(err), c.kind)
		}
		if !errors.Is(err, c.err) {
			t.Errorf("classify(%v) lost the original error", c.err)
		}
		if msg := provider.Describe(err); msg == "" || msg == err.Error() {
			t.Errorf("classify(%v) has no message of its own: %q", c.err, msg)
		}
	}
	if classify("Op", "r", nil) != nil {
		t.Error("classify(nil) is not nil")
	}
	already := provider.NewError(provider.KindConflict, "Create", "x", nil)
	if got := classify("Other", "y", fmt.Errorf("ctx: %w", already)); provider.KindOf(got) != provider.KindConflict {
		t.Errorf("classify re-kinded an already classified error: %v", got)
	}
}

// sdkError builds the error chain the SDK returns for an API error response: an
// OperationError around a ResponseError (with request ids) around the API error.
func sdkError(service, op string, status int, code, message string) error {
	return &smithy.OperationError{ServiceID: service, OperationName: op, Err: &awshttp.ResponseError{
		RequestID: "3d2ba26c-REQUESTID",
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code, Message: message},
		},
	}}
}

func TestClassifyMessages(t *testing.T) {
	p := &Provider{region: "us-east-1"}
	cases := []struct {
		name         string
		op, resource string
		err          error
		kind         provider.ErrorKind
		want         string
		freeFunction bool // classify without a provider: no region
	}{
		{"missing instance", "DescribeDBInstances", "bravo-ghost-db",
			sdkError("RDS", "DescribeDBInstances", 404, "DBInstanceNotFound", "DBInstance bravo-ghost-db not found."),
			provider.KindNotFound, "database instance bravo-ghost-db not found in us-east-1", false},
		{"missing instance, no region known", "DescribeDBInstances", "bravo-ghost-db",
			sdkError("RDS", "DescribeDBInstances", 404, "DBInstanceNotFound", ""),
			provider.KindNotFound, "database instance bravo-ghost-db not found", true},
		{"snapshot of a missing instance", "CreateDBSnapshot", "bravo-ghost-db/lc2-ns-name-0123456789abcdef",
			sdkError("RDS", "CreateDBSnapshot", 404, "DBInstanceNotFoundFault", "DBInstance not found"),
			provider.KindNotFound, "database instance bravo-ghost-db not found in us-east-1", false},
		{"missing snapshot", "DescribeDBSnapshots", "lc2-ns-name-0123456789abcdef",
			sdkError("RDS", "DescribeDBSnapshots", 404, "DBSnapshotNotFound", "DBSnapshot not found."),
			provider.KindNotFound, "database snapshot lc2-ns-name-0123456789abcdef not found in us-east-1", false},
		{"missing bucket on a listing", "ListObjectsV2", "liferay-x/document_library/",
			sdkError("S3", "ListObjectsV2", 404, "NoSuchBucket", "The specified bucket does not exist"),
			provider.KindNotFound, "bucket liferay-x does not exist", false},
		{"missing bucket on HEAD (no body)", "HeadBucket", "liferay-x",
			sdkError("S3", "HeadBucket", 404, "NotFound", ""),
			provider.KindNotFound, "bucket liferay-x does not exist", false},
		{"missing bucket on a copy", "CopyObject", "liferay-x/document_library/1/1.0",
			sdkError("S3", "CopyObject", 404, "NoSuchBucket", ""),
			provider.KindNotFound, "bucket liferay-x does not exist", true},
		{"missing key", "GetObject", "liferay-backups/retail/prd/1/manifest.json",
			sdkError("S3", "GetObject", 404, "NoSuchKey", "The specified key does not exist."),
			provider.KindNotFound, "object s3://liferay-backups/retail/prd/1/manifest.json does not exist", false},
		{"missing key on HEAD", "HeadObject", "liferay-x/document_library/1/1.0",
			responseError(404, errors.New("no body")),
			provider.KindNotFound, "object s3://liferay-x/document_library/1/1.0 does not exist", true},
		{"S3 access denied", "GetObject", "bucket/key",
			sdkError("S3", "GetObject", 403, "AccessDenied", "Access Denied"),
			provider.KindAccessDenied, "access denied to s3://bucket/key (s3:GetObject)", false},
		{"S3 access denied on a bucket's tags", "GetBucketTagging", "liferay-backups",
			sdkError("S3", "GetBucketTagging", 403, "AccessDenied", "Access Denied"),
			provider.KindAccessDenied, "access denied to bucket liferay-backups (s3:GetBucketTagging)", false},
		{"S3 access denied on a copy", "CopyObject", "liferay-x/document_library/1/1.0",
			sdkError("S3", "CopyObject", 403, "AccessDenied", "Access Denied"),
			provider.KindAccessDenied, "access denied copying s3://liferay-x/document_library/1/1.0 (s3:GetObject on the source, s3:PutObject on the destination)", true},
		{"RDS access denied", "DescribeDBInstances", "retail-prd-db",
			sdkError("RDS", "DescribeDBInstances", 403, "AccessDenied", "User: arn:aws:sts::1:assumed-role/x is not authorized"),
			provider.KindAccessDenied, "access denied to database instance retail-prd-db in us-east-1 (rds:DescribeDBInstances)", false},
		{"rejected credentials", "PutObject", "liferay-backups/retail/manifest.json",
			sdkError("S3", "PutObject", 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
			provider.KindAccessDenied, "AWS rejected the controller's credentials (InvalidAccessKeyId) for s3:PutObject on s3://liferay-backups/retail/manifest.json", false},
		{"snapshot name taken", "CreateDBSnapshot", "retail-prd-db/lc2-ns-name-0123456789abcdef",
			sdkError("RDS", "CreateDBSnapshot", 400, "DBSnapshotAlreadyExists", "Cannot create the snapshot because a snapshot with the identifier lc2-ns-name-0123456789abcdef already exists."),
			provider.KindConflict, "database snapshot lc2-ns-name-0123456789abcdef already exists in us-east-1", false},
		{"throttled copy", "CopyObject", "liferay-x/document_library/1/1.0",
			sdkError("S3", "CopyObject", 503, "SlowDown", "Please reduce your request rate."),
			provider.KindThrottled, "S3 throttled CopyObject on s3://liferay-x/document_library/1/1.0 (SlowDown)", true},
		{"throttled RDS", "CreateDBSnapshot", "retail-prd-db/lc2-x",
			sdkError("RDS", "CreateDBSnapshot", 400, "Throttling", "Rate exceeded"),
			provider.KindThrottled, "RDS throttled CreateDBSnapshot on database instance retail-prd-db in us-east-1 (Throttling)", false},
		{"throttled without a body", "HeadObject", "b/k",
			responseError(503, errors.New("no body")),
			provider.KindThrottled, "S3 throttled HeadObject on s3://b/k (HTTP 503)", true},
		{"invalid parameter", "CreateDBSnapshot", "retail-prd-db/lc2-x",
			sdkError("RDS", "CreateDBSnapshot", 400, "InvalidParameterValue", "The parameter DBSnapshotIdentifier is not a valid identifier."),
			provider.KindInvalidInput, "AWS refused CreateDBSnapshot on database instance retail-prd-db in us-east-1 as invalid (InvalidParameterValue: The parameter DBSnapshotIdentifier is not a valid identifier.)", false},
		{"archived object", "CopyObject", "liferay-x/document_library/1/1.0",
			sdkError("S3", "CopyObject", 403, "InvalidObjectState", "The operation is not valid for the object's storage class"),
			provider.KindInvalidInput, "object s3://liferay-x/document_library/1/1.0 is archived (InvalidObjectState): restore it or exclude it from the backup", true},
		{"snapshot quota", "CreateDBSnapshot", "retail-prd-db/lc2-x",
			sdkError("RDS", "CreateDBSnapshot", 400, "SnapshotQuotaExceeded", "Cannot create more than 100 manual snapshots"),
			provider.KindQuotaExceeded, "manual snapshot quota of the account exceeded in us-east-1 (SnapshotQuotaExceeded), cannot snapshot database instance retail-prd-db: delete unneeded manual snapshots or raise the RDS quota", false},
		{"instance busy", "CreateDBSnapshot", "retail-prd-db/lc2-x",
			sdkError("RDS", "CreateDBSnapshot", 400, "InvalidDBInstanceState", "Instance retail-prd-db is not currently in the available state."),
			provider.KindInvalidState, "database instance retail-prd-db in us-east-1 is not in a state that allows CreateDBSnapshot (InvalidDBInstanceState)", false},
		{"unknown operation", "SomethingNew", "thing-1",
			sdkError("S3", "SomethingNew", 404, "NoSuchBucket", ""),
			provider.KindNotFound, "thing-1 not found", true},
		{"server error", "PutObject", "b/k",
			sdkError("S3", "PutObject", 500, "InternalError", "We encountered an internal error. Please try again."),
			provider.KindTransient, "PutObject on s3://b/k failed (InternalError)", false},
		{"network error", "GetObject", "b/k",
			&smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &smithyhttp.RequestSendError{Err: errors.New("dial tcp 10.0.0.1:443: connect: connection refused")}},
			provider.KindTransient, "could not reach S3 for GetObject on s3://b/k (network error)", false},
		{"cancelled", "CopyObjectStorage", "liferay-x/document_library/",
			fmt.Errorf("copy stopped: %w", context.Canceled),
			provider.KindTransient, "CopyObjectStorage on s3://liferay-x/document_library/ cancelled", true},
		{"timed out", "DescribeDBInstances", "retail-prd-db",
			context.DeadlineExceeded,
			provider.KindTransient, "DescribeDBInstances on database instance retail-prd-db in us-east-1 timed out", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.freeFunction {
				err = classify(c.op, c.resource, c.err)
			} else {
				err = p.classify(c.op, c.resource, c.err)
			}
			if got := provider.KindOf(err); got != c.kind {
				t.Errorf("kind %s, want %s", got, c.kind)
			}
			got := provider.Describe(err)
			if got != c.want {
				t.Errorf("message\n got %q\nwant %q", got, c.want)
			}
			for _, noise := range []string{"RequestID", "REQUESTID", "operation error", "https response error", "StatusCode"} {
				if strings.Contains(got, noise) {
					t.Errorf("message %q contains SDK noise %q", got, noise)
				}
			}
			// The full chain stays available for logs.
			if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.err.Error()) {
				t.Errorf("error %q lost the SDK error", err)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	withMessage := provider.NewError(provider.KindNotFound, "DescribeDBInstances", "x", errors.New("sdk chain RequestID: 1")).
		WithMessage("database instance x not found in us-east-1")
	withoutMessage := provider.NewError(provider.KindTransient, "Op", "r", errors.New("boom"))
	cases := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{withMessage, "database instance x not found in us-east-1"},
		{fmt.Errorf("create snapshot: %w", withMessage), "database instance x not found in us-east-1"},
		// A wrapping *Error without a message is looked through.
		{provider.NewError(provider.KindNotFound, "Copy", "b", fmt.Errorf("3 failed: %w", withMessage)), "database instance x not found in us-east-1"},
		{withoutMessage, "Op r: Transient: boom"},
		{errors.New("  plain failure\n"), "plain failure"},
	}
	for _, c := range cases {
		if got := provider.Describe(c.err); got != c.want {
			t.Errorf("Describe(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestDeleteObjectsErrorMessage(t *testing.T) {
	err := deleteObjectsError("liferay-backups", []s3types.Error{
		{Key: awssdk.String("retail/prd/1/a"), Code: awssdk.String("AccessDenied"), Message: awssdk.String("Access Denied")},
		{Key: awssdk.String("retail/prd/1/b"), Code: awssdk.String("AccessDenied"), Message: awssdk.String("Access Denied")},
	})
	if provider.KindOf(err) != provider.KindAccessDenied {
		t.Fatalf("kind %s, want AccessDenied", provider.KindOf(err))
	}
	want := "access denied to s3://liferay-backups/retail/prd/1/a (s3:DeleteObject); 2 objects not deleted"
	if got := provider.Describe(err); got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	if errorCode(err) != "AccessDenied" {
		t.Fatalf("errorCode = %q, want AccessDenied", errorCode(err))
	}
}

func TestQuotaErrorsNameTheirQuota(t *testing.T) {
	for code, want := range map[string]string{
		"SnapshotQuotaExceeded": provider.QuotaSnapshot, "SnapshotQuotaExceededFault": provider.QuotaSnapshot,
		"InstanceQuotaExceeded": provider.QuotaInstance, "InstanceQuotaExceededFault": provider.QuotaInstance,
		"StorageQuotaExceeded": provider.QuotaStorage, "StorageQuotaExceededFault": provider.QuotaStorage,
	} {
		err := classify("CreateDBSnapshot", "retail-prd-db", sdkError("RDS", "CreateDBSnapshot", 400, code, "m"))
		if provider.KindOf(err) != provider.KindQuotaExceeded || provider.QuotaOf(err) != want {
			t.Errorf("%s: kind %s quota %s, want QuotaExceeded %s", code, provider.KindOf(err), provider.QuotaOf(err), want)
		}
	}
	if q := provider.QuotaOf(classify("GetObject", "b/k", sdkError("S3", "GetObject", 404, "NoSuchKey", "m"))); q != provider.QuotaOther {
		t.Errorf("a non-quota error names quota %q", q)
	}
}

func TestFullJitterBackoffStaysWithinBounds(t *testing.T) {
	b := fullJitterBackoff{base: 100 * time.Millisecond, max: 2 * time.Second}
	for attempt := 0; attempt < 64; attempt++ {
		ceiling := 2 * time.Second
		if attempt < 5 {
			ceiling = 100 * time.Millisecond << attempt
		}
		for range 50 {
			d, err := b.BackoffDelay(attempt, nil)
			if err != nil || d < 0 || d >= ceiling {
				t.Fatalf("attempt %d: delay %v (err %v), want in [0, %v)", attempt, d, err, ceiling)
			}
		}
	}
}

// TestClassifyCopyNamesThePermissionOfAVersionedRead: a copy of a given source version
// needs s3:GetObjectVersion; any other copy, whatever its key says, s3:GetObject.
func TestClassifyCopyNamesThePermissionOfAVersionedRead(t *testing.T) {
	denied := sdkError("S3", "CopyObject", 403, "AccessDenied", "Access Denied")
	for _, c := range []struct {
		resource  string
		versioned bool
		want      string
	}{
		{"liferay-x/document_library/1/1.0 version 3HL4kqtJlcpXroDTDmJ", true,
			"access denied copying s3://liferay-x/document_library/1/1.0 version 3HL4kqtJlcpXroDTDmJ (s3:GetObjectVersion on the source, s3:PutObject on the destination)"},
		{"liferay-x/notes/draft version 2.txt", false,
			"access denied copying s3://liferay-x/notes/draft version 2.txt (s3:GetObject on the source, s3:PutObject on the destination)"},
	} {
		err := classifyCopy("CopyObject", c.resource, c.versioned, denied)
		if provider.KindOf(err) != provider.KindAccessDenied || provider.Describe(err) != c.want {
			t.Errorf("%s: %s %q, want AccessDenied %q", c.resource, provider.KindOf(err), provider.Describe(err), c.want)
		}
	}
}
