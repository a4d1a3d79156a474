// Command kubectl-lc2 is the kubectl plugin of the LC2 Backup Controller: kubectl lc2
// backup|restore|schedule ... (docs/plugin.md). kubectl finds it on PATH.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/liferay/lc2-backup-controller/internal/cli"
)

func main() {
	// Ctrl-C cancels the context: a --wait stops waiting and leaves the object alone.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
