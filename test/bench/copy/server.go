package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/liferay/lc2-backup-controller/test/harness"
)

// Credentials of the throwaway S3 server.
const (
	accessKey = "benchaccesskey"
	secretKey = "benchsecretkey0123456789"
	region    = "us-east-1"
)

// s3Server is a running versitygw.
type s3Server struct {
	endpoint string
	proc     *harness.Process
	logPath  string
}

// startVersitygw serves dir/data over S3 on a free loopback port. The harness process
// gets SIGKILL if this benchmark dies, so no server outlives it.
func startVersitygw(ctx context.Context, binary, dir string) (*s3Server, error) {
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "versitygw.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }() // the child has its own descriptor; nothing was written through ours
	// --keep-alive: versitygw closes every connection after one request unless asked
	// not to, which S3 never does; --quiet: no per-request log line to write.
	cmd := exec.Command(binary, "--keep-alive", "--quiet",
		"-a", accessKey, "-s", secretKey, "-p", fmt.Sprintf("127.0.0.1:%d", port), "posix", data)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc, err := harness.StartProcess(cmd)
	if err != nil {
		return nil, err
	}
	s := &s3Server{endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), proc: proc, logPath: logPath}
	if err := harness.WaitHTTP(ctx, s.endpoint, proc, 30*time.Second); err != nil {
		s.stop()
		out, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("versitygw did not start: %w\n%s", err, out)
	}
	return s, nil
}

func (s *s3Server) stop() { s.proc.Stop(5 * time.Second) }

// env is the environment a client process needs to reach the server at endpoint
// (the server's own or the proxy's in front of it).
func (s *s3Server) env(endpoint string) []string {
	return append(os.Environ(),
		"AWS_ENDPOINT_URL="+endpoint,
		"AWS_ACCESS_KEY_ID="+accessKey,
		"AWS_SECRET_ACCESS_KEY="+secretKey,
		"AWS_REGION="+region,
		"AWS_DEFAULT_REGION="+region,
		"AWS_EC2_METADATA_DISABLED=true",
	)
}
