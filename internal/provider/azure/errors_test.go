package azure

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// responseError is the error the SDK returns for an answer with status and, when not
// empty, the error code in x-ms-error-code (HEAD answers carry no body).
func responseError(status int, code string) error {
	req, _ := http.NewRequest(http.MethodGet, "https://acct.blob.core.windows.net/c/k", nil)
	resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req}
	if code != "" {
		resp.Header.Set("x-ms-error-code", code)
	}
	return runtime.NewResponseError(resp)
}

func TestErrorKinds(t *testing.T) {
	p := &Provider{account: "acct"}
	for _, c := range []struct {
		status   int
		code     string
		resource string
		want     provider.ErrorKind
		mention  string
	}{
		{404, "ContainerNotFound", "backups/b1/manifest.json", provider.KindNotFound, "container backups does not exist in storage account acct"},
		{404, "BlobNotFound", "backups/b1/manifest.json", provider.KindNotFound, "blob b1/manifest.json in container backups does not exist"},
		{404, "", "backups/k", provider.KindNotFound, "backups"},
		{404, "", "backups", provider.KindNotFound, "container backups does not exist"},
		{403, "AuthorizationPermissionMismatch", "backups/k", provider.KindAccessDenied, "Storage Blob Data Contributor"},
		{403, "AuthenticationFailed", "backups/k", provider.KindAccessDenied, "access denied to blob backups/k"},
		{403, "", "backups", provider.KindAccessDenied, "access denied to container backups"},
		{409, "BlobAlreadyExists", "backups/claim", provider.KindConflict, "blob backups/claim already exists"},
		{412, "ConditionNotMet", "backups/claim", provider.KindConflict, "already exists"},
		{412, "", "backups/claim", provider.KindConflict, "already exists"},
		{503, "ServerBusy", "backups/k", provider.KindThrottled, "throttling"},
		{500, "OperationTimedOut", "backups/k", provider.KindTransient, "OperationTimedOut"},
		{502, "", "backups/k", provider.KindTransient, "HTTP 502"},
		{400, "InvalidResourceName", "Bad_Name", provider.KindInvalidInput, "InvalidResourceName"},
	} {
		t.Run(c.code+"/"+http.StatusText(c.status), func(t *testing.T) {
			op := "UploadBlob"
			if !strings.Contains(c.resource, "/") {
				op = "GetContainerProperties"
			}
			err := p.classify(op, c.resource, responseError(c.status, c.code))
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Kind != c.want {
				t.Fatalf("classify = %v, want kind %s", err, c.want)
			}
			if !strings.Contains(pe.Message, c.mention) {
				t.Errorf("Message %q does not say %q", pe.Message, c.mention)
			}
		})
	}
	if kind := kindOf(context.Canceled); kind != provider.KindTransient {
		t.Errorf("a cancelled request is %s, want Transient", kind)
	}
	if kind := kindOf(errors.New("dial tcp: connection refused")); kind != provider.KindTransient {
		t.Errorf("a network error is %s, want Transient", kind)
	}
}

// A copy's failed writes are sorted as the AWS provider sorts them: a missing source is
// a vanished object, an existing blob under If-None-Match is kept under SkipExisting.
func TestCopyOutcomesOfErrors(t *testing.T) {
	for _, c := range []struct {
		err                 error
		gone, alreadyExists bool
	}{
		{responseError(404, "BlobNotFound"), true, false},
		{responseError(404, "CannotVerifyCopySource"), true, false},
		{responseError(403, "CannotVerifyCopySource"), false, false},
		{responseError(404, "ContainerNotFound"), false, false},
		{responseError(409, "BlobAlreadyExists"), false, true},
		{responseError(412, "ConditionNotMet"), false, true},
		{responseError(412, ""), false, true},
		{responseError(500, "InternalError"), false, false},
	} {
		if got := sourceGone(c.err); got != c.gone {
			t.Errorf("sourceGone(%v) = %v, want %v", c.err, got, c.gone)
		}
		if got := alreadyExists(c.err); got != c.alreadyExists {
			t.Errorf("alreadyExists(%v) = %v, want %v", c.err, got, c.alreadyExists)
		}
	}
}

// A wrong shared key is what Azurite answers with 403 AuthorizationFailure: the real
// service's answer to a credential without permission.
func TestWrongKeyIsAccessDenied(t *testing.T) {
	raw := newRawClient(t)
	bucket := raw.newContainer(t, "denied", nil)
	opts := testOptions()
	opts.AccountKey = "d3Jvbmcga2V5IGZvciB0aGUgZGV2ZWxvcG1lbnQgYWNjb3VudA=="
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	err = p.UploadObject(context.Background(), bucket, "claim", []byte("x"))
	if provider.KindOf(err) != provider.KindAccessDenied || !strings.Contains(provider.Describe(err), bucket+"/claim") {
		t.Fatalf("upload with a wrong key: %v (%s), want AccessDenied naming the blob", err, provider.Describe(err))
	}
	_, err = p.BucketTags(context.Background(), bucket)
	if provider.KindOf(err) != provider.KindAccessDenied {
		t.Fatalf("BucketTags with a wrong key: %v, want AccessDenied", err)
	}
}
