package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// Moto is a running moto server (AWS emulator for S3 and RDS).
type Moto struct {
	// Endpoint is the base URL to hand the AWS SDK (AWS_ENDPOINT_URL).
	Endpoint string
	proc     *Process
	logPath  string
}

// MotoServerPath finds the moto_server binary: $MOTO_SERVER, else the project-local
// virtualenv, created by hack/setup-moto.sh on first use.
func MotoServerPath() (string, error) {
	return toolPath("MOTO_SERVER", "setup-moto.sh", "set up moto virtualenv")
}

// StartMoto starts a fresh moto server on a free loopback port. Each call gets an
// empty emulator, so test packages never see each other's buckets.
func StartMoto(ctx context.Context) (*Moto, error) {
	server, err := MotoServerPath()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.CreateTemp("", "moto-*.log")
	if err != nil {
		return nil, fmt.Errorf("create moto log: %w", err)
	}
	cmd := exec.Command(server, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc, err := StartProcess(cmd)
	_ = logFile.Close() // the child has its own descriptor; nothing was written through ours
	if err != nil {
		return nil, errors.Join(err, os.Remove(logFile.Name()))
	}
	m := &Moto{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), proc: proc, logPath: logFile.Name()}
	if err := WaitHTTP(ctx, m.Endpoint+"/moto-api/", proc, 60*time.Second); err != nil {
		log, _ := os.ReadFile(m.logPath)
		m.Stop()
		return nil, fmt.Errorf("moto server did not start: %w\n%s", err, log)
	}
	return m, nil
}

// Stop ends the server and removes its log.
func (m *Moto) Stop() {
	if m == nil {
		return
	}
	m.proc.Stop(5 * time.Second)
	_ = os.Remove(m.logPath) // best effort: a leftover log in the temp dir is harmless
}

// SetAWSEnv points the AWS SDK's default configuration at the emulator with dummy
// credentials, the way the controller itself is configured in the local environment.
func (m *Moto) SetAWSEnv() {
	for _, kv := range [][2]string{
		{"AWS_ENDPOINT_URL", m.Endpoint},
		{"AWS_ACCESS_KEY_ID", "test"},
		{"AWS_SECRET_ACCESS_KEY", "test"},
		{"AWS_REGION", "us-east-1"},
		{"AWS_DEFAULT_REGION", "us-east-1"},
		{"AWS_EC2_METADATA_DISABLED", "true"},
	} {
		if err := os.Setenv(kv[0], kv[1]); err != nil {
			panic(err) // only a malformed variable name fails, and these are constants
		}
	}
}
