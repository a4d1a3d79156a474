package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FakeGCS is a running fake-gcs-server (Google Cloud Storage emulator), serving the
// JSON API over plain HTTP from memory.
type FakeGCS struct {
	// Endpoint is the emulator's base URL, http://127.0.0.1:<port>: what
	// gcp.Options.Endpoint takes (the provider appends /storage/v1/).
	Endpoint string
	proc     *Process
	logPath  string
}

// FakeGCSServerPath finds the fake-gcs-server binary: $FAKE_GCS_SERVER, else the one
// in the per-user tool cache, built by hack/build-fake-gcs-server.sh on first use.
func FakeGCSServerPath() (string, error) {
	return toolPath("FAKE_GCS_SERVER", "build-fake-gcs-server.sh", "build fake-gcs-server")
}

// StartFakeGCS starts a fresh, in-memory fake-gcs-server on a free loopback port.
// Each call gets an empty emulator, so test packages never see each other's buckets.
//
// The emulator forgets bucket labels: put a GCSLabelProxy in front of it when labels
// matter.
func StartFakeGCS(ctx context.Context) (*FakeGCS, error) {
	server, err := FakeGCSServerPath()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.CreateTemp("", "fake-gcs-server-*.log")
	if err != nil {
		return nil, fmt.Errorf("create fake-gcs-server log: %w", err)
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(server, fakeGCSArgs(port)...)
	// Every flag also has a FAKE_GCS_* variable; the ones not given as flags (seed
	// data, Pub/Sub events) must not come from the caller's environment.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "FAKE_GCS_") })
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc, err := StartProcess(cmd)
	_ = logFile.Close() // the child has its own descriptor
	if err != nil {
		return nil, errors.Join(err, os.Remove(logFile.Name()))
	}
	f := &FakeGCS{Endpoint: endpoint, proc: proc, logPath: logFile.Name()}
	if err := WaitHTTP(ctx, f.Endpoint+"/_internal/healthcheck", proc, 60*time.Second); err != nil {
		log, _ := os.ReadFile(f.logPath)
		f.Stop()
		return nil, fmt.Errorf("fake-gcs-server did not start: %w\n%s", err, log)
	}
	return f, nil
}

// fakeGCSArgs are the emulator's flags for a server on 127.0.0.1:port.
func fakeGCSArgs(port int) []string {
	return []string{
		"-backend", "memory",
		"-scheme", "http",
		"-host", "127.0.0.1", "-port", strconv.Itoa(port),
		// The base of the selfLink and mediaLink of every resource it returns. (The
		// Location of a resumable upload session is built from the Host the client
		// called, so a session opened through a proxy continues through it.)
		"-external-url", fmt.Sprintf("http://127.0.0.1:%d", port),
		// Requests for this host are API requests, XML-API downloads
		// (GET /<bucket>/<object>) included; anything else reads the Host as a bucket
		// name. Without a port it matches 127.0.0.1 on any port: this one, and a proxy's.
		"-public-host", "127.0.0.1",
	}
}

// Stop ends the emulator and removes its log.
func (f *FakeGCS) Stop() {
	if f == nil {
		return
	}
	f.proc.Stop(5 * time.Second)
	_ = os.Remove(f.logPath) // best effort: leftovers in the temp dir are harmless
}
