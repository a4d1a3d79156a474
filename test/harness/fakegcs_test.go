package harness

import (
	"context"
	"errors"
	"net/http"
	"os"
	"syscall"
	"testing"
)

func TestStartFakeGCSAnswersAndStops(t *testing.T) {
	f, err := StartFakeGCS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(f.Endpoint + "/storage/v1/b")
	if err != nil {
		t.Fatalf("fake-gcs-server not answering: %v", err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list buckets: %s", resp.Status)
	}
	pid := f.proc.cmd.Process.Pid
	f.Stop()
	if !f.proc.Exited() {
		t.Fatal("fake-gcs-server still running after Stop")
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("fake-gcs-server's process group %d still there after Stop: %v", pid, err)
	}
	if _, err := os.Stat(f.logPath); !os.IsNotExist(err) {
		t.Fatalf("fake-gcs-server log %s left behind: %v", f.logPath, err)
	}
}
