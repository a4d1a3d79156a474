package benchenv

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
	AccessKey = "benchaccesskey"
	SecretKey = "benchsecretkey0123456789"
	Region    = "us-east-1"
)

// Server is a running versitygw.
type Server struct {
	// Endpoint is the server's own URL, http://127.0.0.1:<port>.
	Endpoint string
	proc     *harness.Process
	pid      int
}

// startVersitygw serves dir/data over S3 on a free loopback port (posix backend,
// keep-alive as S3 itself, no per-request log). The harness process gets SIGKILL if
// the benchmark dies, so no server outlives it.
func startVersitygw(ctx context.Context, binary, dir string) (*Server, error) {
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
	// --keep-alive: versitygw closes every connection after one request unless asked
	// not to, which S3 never does; --quiet: no per-request log line to write.
	cmd := exec.Command(binary, "--keep-alive", "--quiet",
		"-a", AccessKey, "-s", SecretKey, "-p", fmt.Sprintf("127.0.0.1:%d", port), "posix", data)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc, err := harness.StartProcess(cmd)
	if err != nil {
		return nil, err
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), proc: proc, pid: cmd.Process.Pid}
	if err := harness.WaitHTTP(ctx, s.Endpoint, proc, 30*time.Second); err != nil {
		s.stop()
		out, readErr := os.ReadFile(logPath)
		if readErr != nil {
			out = []byte(readErr.Error())
		}
		return nil, fmt.Errorf("versitygw did not start: %w\n%s", err, out)
	}
	return s, nil
}

func (s *Server) stop() { s.proc.Stop(5 * time.Second) }

// ClientEnv is the environment a client process needs to reach the server at
// endpoint (the server's own or the proxy's in front of it).
func (s *Server) ClientEnv(endpoint string) []string {
	return append(os.Environ(),
		"AWS_ENDPOINT_URL="+endpoint,
		"AWS_ACCESS_KEY_ID="+AccessKey,
		"AWS_SECRET_ACCESS_KEY="+SecretKey,
		"AWS_REGION="+Region,
		"AWS_DEFAULT_REGION="+Region,
		"AWS_EC2_METADATA_DISABLED=true",
	)
}

// CPUSeconds is the server's user + system CPU time so far (0 if it cannot be read:
// the figure is informative only).
func (s *Server) CPUSeconds() float64 {
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

// SelfCPUSeconds is this process's own CPU time, without its children's: while a
// child process copies, the proxy's (bench-copy measures the child by itself).
func SelfCPUSeconds() float64 {
	self, err := rusageTime(syscall.RUSAGE_SELF)
	if err != nil {
		return 0 // informative only
	}
	return self.Seconds()
}

// SelfAndChildrenCPUSeconds is this process's own CPU time and that of its
// waited-for children: the client of an in-process backup, the proxy, and a child
// tool (rclone) once it has exited.
func SelfAndChildrenCPUSeconds() float64 {
	self, err := rusageTime(syscall.RUSAGE_SELF)
	if err != nil {
		return 0 // informative only
	}
	children, err := rusageTime(syscall.RUSAGE_CHILDREN)
	if err != nil {
		return 0
	}
	return (self + children).Seconds()
}

// rusageTime is the user + system time getrusage reports for who.
func rusageTime(who int) (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
