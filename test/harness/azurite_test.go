package harness

import (
	"context"
	"net/http"
	"os"
	"testing"
)

func TestStartAzuriteAnswersAndStops(t *testing.T) {
	a, err := StartAzurite(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(a.AccountURL + "?comp=list")
	if err != nil {
		t.Fatalf("azurite not answering: %v", err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	a.Stop()
	if !a.proc.Exited() {
		t.Fatal("azurite still running after Stop")
	}
	if _, err := os.Stat(a.workspace); !os.IsNotExist(err) {
		t.Fatalf("azurite workspace %s left behind: %v", a.workspace, err)
	}
}
