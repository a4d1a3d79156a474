package harness

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/liferay/lc2-backup-controller/api/schemas"
)

func TestRecordCheckerChecksUploadsAndPassesEverythingOn(t *testing.T) {
	var mu sync.Mutex
	var reached []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		reached = append(reached, r.Method+" "+r.URL.Path)
	}))
	defer target.Close()
	var checkers RecordCheckers
	defer checkers.Close()
	endpoint, err := checkers.For(target.URL)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := checkers.For(target.URL); again != endpoint {
		t.Fatalf("a second checker for the same target: %s, %s", endpoint, again)
	}
	put := func(path, body string, header ...string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPut, endpoint+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	claim := `{"version":"1","backupId":"b","uid":"u","namespace":"n","name":"x","projectId":"p","environment":"prd","claimedAt":"2026-11-09T14:30:00Z"}`
	put("/backups/p/prd/x/claim.json?x-id=PutObject", claim)
	put("/backups/p/prd/x/data/claim.json", "", "X-Amz-Copy-Source", "/dl/claim.json") // a copy of a user's file
	put("/backups?versioning", "<VersioningConfiguration/>")
	if failures := checkers.TakeFailures(); len(failures) != 0 {
		t.Fatalf("valid uploads refused: %v", failures)
	}
	put("/backups/p/prd/y/claim.json?x-id=PutObject", strings.Replace(claim, `"uid"`, `"owner":"me","uid"`, 1))
	put("/backups/p/prd/y/notes.json?x-id=PutObject", `{}`)
	failures := checkers.TakeFailures()
	if len(failures) != 2 || !strings.Contains(failures[0], "s3://backups/p/prd/y/claim.json") || !strings.Contains(failures[0], "owner") ||
		!strings.Contains(failures[1], "no schema") {
		t.Fatalf("failures %q", failures)
	}
	if got := checkers.Checked(); got[schemas.Claim] != 1 || len(got) != 1 {
		t.Errorf("checked %v, want one claim", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reached) != 5 || checkers.TakeFailures() != nil {
		t.Errorf("the target saw %v, want every request", reached)
	}
}
