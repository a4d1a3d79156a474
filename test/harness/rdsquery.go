package harness

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
)

// RDSAction matches the RDS API requests of action. RDS speaks the AWS Query protocol:
// a form-encoded POST whose Action field names the call. The body is read and put
// back, so a request that is not refused still reaches the target whole.
func RDSAction(action string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if r.Method != http.MethodPost || r.Body == nil {
			return false
		}
		data, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(data))
		if err != nil {
			return false
		}
		form, err := url.ParseQuery(string(data))
		return err == nil && form.Get("Action") == action
	}
}

// RDSError is the answer RDS gives a refused call: HTTP 400 and the AWS Query
// protocol's XML error document, as the SDK parses it (for example code
// SnapshotQuotaExceeded, which the emulator never returns by itself).
func RDSError(code, message string) Answer {
	return Answer{
		Status:      http.StatusBadRequest,
		ContentType: "text/xml",
		Body: fmt.Sprintf(`<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">`+
			`<Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>`+
			`<RequestId>4f2d8a96-injected-by-the-test-proxy</RequestId></ErrorResponse>`,
			html.EscapeString(code), html.EscapeString(message)),
	}
}
