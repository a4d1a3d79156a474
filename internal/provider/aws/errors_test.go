package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
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
	}
	if classify("Op", "r", nil) != nil {
		t.Error("classify(nil) is not nil")
	}
	already := provider.NewError(provider.KindConflict, "Create", "x", nil)
	if got := classify("Other", "y", fmt.Errorf("ctx: %w", already)); provider.KindOf(got) != provider.KindConflict {
		t.Errorf("classify re-kinded an already classified error: %v", got)
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
