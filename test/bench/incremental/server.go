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
}

// startVersitygw serves dir/data over S3 on a free loopback port (posix backend,
// keep-alive as S3 itself, no per-request log). The harness process gets SIGKILL if
// this benchmark dies, so no server outlives it.
func startVersitygw(ctx context.Context, binary, dir string) (*s3Server, error) {
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, fmt.Errorf("create the server's data dir: %w", err)
	}
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "versitygw.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create the server's log: %w", err)
	}
	defer func() { _ = logFile.Close() }() // the child has its own descriptor; nothing was written through ours
	cmd := exec.Command(binary, "--keep-alive", "--quiet",
		"-a", accessKey, "-s", secretKey, "-p", fmt.Sprintf("127.0.0.1:%d", port), "posix", data)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc, err := harness.StartProcess(cmd)
	if err != nil {
		return nil, err
	}
	s := &s3Server{endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), proc: proc, pid: cmd.Process.Pid}
	if err := harness.WaitHTTP(ctx, s.endpoint, proc, 30*time.Second); err != nil {
		s.stop()
		out, readErr := os.ReadFile(logPath)
		if readErr != nil {
			out = []byte(readErr.Error())
		}
		return nil, fmt.Errorf("versitygw did not start: %w\n%s", err, out)
	}
	return s, nil
}

func (s *s3Server) stop() { s.proc.Stop(5 * time.Second) }

// cpuSeconds is the server's user + system CPU time so far (0 if it cannot be read:
// the figure is informative only).
func (s *s3Server) cpuSeconds() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
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
	utime, err1 := strconv.ParseFloat(fields[11], 64) // field 14 of the line
	stime, err2 := strconv.ParseFloat(fields[12], 64) // field 15
	if err1 != nil || err2 != nil {
		return 0
	}
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// selfCPUSeconds is this process's own CPU time and that of its waited-for children:
// the client of an in-process backup, the proxy, and rclone once it has exited.
func selfCPUSeconds() float64 {
	var self, children syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err != nil {
		return 0
	}
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children); err != nil {
		return 0
	}
	cpu := func(ru syscall.Rusage) time.Duration { return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()) }
	return (cpu(self) + cpu(children)).Seconds()
}
