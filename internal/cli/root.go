// Package cli is the kubectl lc2 plugin: commands that create, watch and describe
// BackupRequests, RestoreRequests and BackupSchedules with the current kubeconfig
// (docs/plugin.md). cmd/kubectl-lc2 only calls Run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/liferay/lc2-backup-controller/internal/scheme"
)

// Exit codes of Run.
const (
	// exitFailed: an error, a Failed backup or restore, or a verification with problems.
	exitFailed = 1
	// exitInterrupted: Ctrl-C during --wait; the object was left as it was.
	exitInterrupted = 130
)

// app is what every command shares: the kubeconfig flags, the streams and the clock.
type app struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	now     func() time.Time
	// terminal says stdout is a terminal: --wait redraws one progress line.
	terminal bool

	cl        client.WithWatch
	namespace string
}

// Run runs the plugin with args (without the program name) and returns the exit code.
func Run(ctx context.Context, args []string, streams genericiooptions.IOStreams) int {
	terminal := isTerminal(streams.Out)
	out := &stickyWriter{w: streams.Out}
	streams.Out, streams.ErrOut = out, &stickyWriter{w: streams.ErrOut}
	a := &app{
		flags:    genericclioptions.NewConfigFlags(true),
		streams:  streams,
		now:      time.Now,
		terminal: terminal,
	}
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil && out.err != nil {
		err = fmt.Errorf("write output: %w", out.err)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errInterrupted):
		fprintln(streams.ErrOut, "interrupted: stopped waiting; the object was not changed")
		return exitInterrupted
	}
	fprintln(streams.ErrOut, "error: "+err.Error())
	if apierrors.IsForbidden(err) {
		if cmd, _, ferr := root.Find(args); ferr == nil {
			if p, ok := permissionsOf(cmd.CommandPath()); ok {
				fprintf(streams.ErrOut, "%q needs %s in the namespace (docs/plugin.md#rbac)\n", cmd.CommandPath(), p)
			}
		}
	}
	return exitFailed
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:         "kubectl-lc2",
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl lc2"},
		Short:       "Back up, restore and schedule Liferay Cloud environments (LC2 Backup Controller)",
		Long: `kubectl lc2 creates, watches and describes BackupRequests, RestoreRequests and
BackupSchedules with the current kubeconfig. docs/plugin.md lists the RBAC each command needs.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.connect()
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	a.flags.AddFlags(root.PersistentFlags())
	root.SetOut(a.streams.Out)
	root.SetErr(a.streams.ErrOut)
	root.AddCommand(a.backupCommand(), a.restoreCommand(), a.scheduleCommand())
	return root
}

// connect builds the client from the kubeconfig flags and resolves the namespace.
func (a *app) connect() error {
	cfg, err := a.flags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	a.cl, err = client.NewWithWatch(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return fmt.Errorf("create kubernetes client: %w", err)
	}
	a.namespace, _, err = a.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("resolve namespace: %w", err)
	}
	return nil
}

func (a *app) out() io.Writer { return a.streams.Out }

// exactArgs is cobra.ExactArgs with a message naming what is missing.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return fmt.Errorf("want %d argument(s) %v, got %d", len(names), names, len(args))
		}
		return nil
	}
}
