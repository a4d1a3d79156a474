// Package benchenv is the test bed bench-copy and bench-incremental share: a
// throwaway versitygw S3 server in a work directory, a proxy in front of it that
// makes the loopback server look like a real network, the CPU time of the server and
// of the benchmark itself, and a printer for the reports.
package benchenv

import (
	"context"
	"fmt"
	"os"
)

// Config is what Start needs.
type Config struct {
	// Name is the benchmark's, "bench-copy": the prefix of the temporary work
	// directory and of the messages of what fails in the background.
	Name string
	// Workdir holds the server's data and log; empty: a new temporary directory
	// that Close removes.
	Workdir string
	// Versitygw is the path of the versitygw binary.
	Versitygw string
	// Proxy is what the benchmark adds to the proxy's delay and forwarding.
	Proxy ProxyHooks
}

// Env is a running test bed: Close stops it.
type Env struct {
	// Workdir is Config.Workdir, or the temporary directory made in its place.
	Workdir string
	// Server is versitygw; tools that must not be delayed or counted talk to it
	// directly.
	Server *Server
	// Proxy stands in front of Server; the tools measured talk to it.
	Proxy *Proxy

	name    string
	tempDir string // removed by Close; empty when Config.Workdir was given
}

// Start makes the work directory if none is given, starts versitygw in it and the
// proxy in front of it. On an error it stops what it started.
func Start(ctx context.Context, c Config) (*Env, error) {
	e := &Env{Workdir: c.Workdir, name: c.Name}
	if e.Workdir == "" {
		dir, err := os.MkdirTemp("", c.Name+"-")
		if err != nil {
			return nil, fmt.Errorf("create work dir: %w", err)
		}
		e.Workdir, e.tempDir = dir, dir
	}
	var err error
	if e.Server, err = startVersitygw(ctx, c.Versitygw, e.Workdir); err != nil {
		e.Close()
		return nil, err
	}
	if e.Proxy, err = startProxy(e.Server.Endpoint, c.Proxy, e.logf); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close stops the proxy and the server, and removes the work directory if Start
// made it. What fails is reported on stderr: there is nothing else to do about it
// at the end of a run.
func (e *Env) Close() {
	if e.Proxy != nil {
		if err := e.Proxy.stop(); err != nil {
			e.logf("%v", err)
		}
	}
	if e.Server != nil {
		e.Server.stop()
	}
	if e.tempDir != "" {
		if err := os.RemoveAll(e.tempDir); err != nil {
			e.logf("remove work dir: %v", err)
		}
	}
}

// logf writes a line to stderr with the benchmark's name in front, as its other
// messages.
func (e *Env) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, e.name+": "+format+"\n", args...)
}
