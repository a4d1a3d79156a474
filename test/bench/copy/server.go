package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	pid      int
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
	s := &s3Server{endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), proc: proc, pid: cmd.Process.Pid, logPath: logPath}
	if err := harness.WaitHTTP(ctx, s.endpoint, proc, 30*time.Second); err != nil {
		s.stop()
		out, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("versitygw did not start: %w\n%s", err, out)
	}
	return s, nil
}

func (s *s3Server) stop() { s.proc.Stop(5 * time.Second) }

// cpuSeconds is the server's user + system CPU time so far.
func (s *s3Server) cpuSeconds() float64 { return procCPUSeconds(s.pid) }

// procCPUSeconds reads utime + stime of a process from /proc/<pid>/stat (0 if it
// cannot: the figure is informative only).
func procCPUSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after it are plain.
	rest := string(data)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	fields := strings.Fields(rest)
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64) // field 14 of the line
	stime, _ := strconv.ParseFloat(fields[12], 64) // field 15
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// selfCPUSeconds is this process's own CPU time: during a copy, the proxy's.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

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
