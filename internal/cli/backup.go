package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
)

func (a *app) backupCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "backup", Short: "Create, list, describe and verify BackupRequests"}
	cmd.AddCommand(a.backupCreateCommand(), a.backupListCommand(), a.backupDescribeCommand(), a.backupVerifyCommand())
	return cmd
}

// createOptions are the flags of backup create and schedule run-now.
type createOptions struct {
	fromSchedule string
	wait         bool
	timeout      time.Duration
	dryRun       string
	print        *printFlags
	spec         backupFlags
}

func (o *createOptions) addWaitFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.wait, "wait", false, "wait until the backup Succeeded (exit 0) or Failed (exit 1), showing its progress")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 0, "with --wait, stop waiting after this long (exit 1); 0: no limit")
}

func (o *createOptions) addDryRunFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.dryRun, "dry-run", "none", `"client": print the BackupRequest without sending it; "server": have the API server validate it (dryRun=All) and print what it returned`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "client"
	o.print = newPrintFlags("yaml")
	o.print.addFlags(cmd, "")
}

func (a *app) backupCreateCommand() *cobra.Command {
	o := &createOptions{}
	var excludeGenerated bool
	cmd := &cobra.Command{
		Use:   "create ENV",
		Short: "Create a BackupRequest of environment ENV, named <ENV>-<YYYYMMDDHHMMSS> (UTC)",
		Long: `Create a BackupRequest of environment ENV in the namespace, named <ENV>-<YYYYMMDDHHMMSS> (UTC).

The spec comes from, in this order: the schedule --from-schedule names, the namespace's
only BackupSchedule of ENV (both as a scheduled run would, writing under
<base><schedule>/<stamp>/, annotated backup.liferay.cloud/run-of-schedule and not
counted or expired by the schedule), the newest BackupRequest of ENV (writing under
<projectId>/<ENV>/<name>/), or the flags alone. The flags override what it supplies.`,
		Example: `  kubectl lc2 backup create prd --wait
  kubectl lc2 backup create prd --from-schedule nightly --dry-run=server
  kubectl lc2 backup create prd --mode Incremental --wait
  kubectl lc2 backup create prd --project retail --db-instance retail-prd-db \
      --source-bucket liferay-retail-prd-dl --destination-bucket liferay-backups --wait
  kubectl lc2 backup create prd --database-type dump --connection-secret retail-prd-db --wait
  kubectl lc2 backup create prd --db-instance retail-prd-db --connection-secret retail-prd-db-iam --database-auth iam --wait`,
		Args: exactArgs("ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("exclude-generated-files") {
				o.spec.excludeGenerated = &excludeGenerated
			}
			if err := checkMode(o.spec.mode); err != nil {
				return err
			}
			if err := checkDatabaseFlags(o.spec); err != nil {
				return err
			}
			return a.createBackup(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&excludeGenerated, "exclude-generated-files", false, "spec.documentLibrary.excludeGeneratedFiles: leave out thumbnails, previews and adaptive-media renditions")
	f.StringVar(&o.fromSchedule, "from-schedule", "", "take the spec from this BackupSchedule's template")
	f.StringVar(&o.spec.project, "project", "", "spec.projectId")
	f.StringVar(&o.spec.provider, "provider", "", "spec.provider: aws, gcp, azure or local (the store holding the environment); default: the schedule's or previous backup's, else aws")
	f.StringVar(&o.spec.dbInstance, "db-instance", "", "spec.database.instanceId (a snapshot of this RDS instance)")
	f.StringVar(&o.spec.databaseType, "database-type", "", "spec.database.type: snapshot (an RDS snapshot) or dump (a verified logical dump stored with the backup); default: the schedule's or previous backup's, else snapshot")
	f.StringVar(&o.spec.connectionSecret, "connection-secret", "", "spec.database.dump.connectionSecretRef: the Secret in the namespace with host, port, database, user and password of the database to dump (implies --database-type dump)")
	f.StringVar(&o.spec.databaseAuth, "database-auth", "", "spec.database.dump.authentication: password (the Secret's) or iam (an RDS IAM token the dumper mints; needs --db-instance on aws; implies --database-type dump)")
	f.StringVar(&o.spec.sourceBucket, "source-bucket", "", "spec.documentLibrary.sourceBucket")
	f.StringVar(&o.spec.sourcePrefix, "source-prefix", "", `spec.documentLibrary.sourcePrefix (the API's default: "document_library/")`)
	f.StringVar(&o.spec.destinationBucket, "destination-bucket", "", "spec.documentLibrary.destinationBucket")
	f.Int32Var(&o.spec.retentionDays, "retention-days", 0, "spec.retentionDays (7 to 365; default: the controller's)")
	f.StringVar(&o.spec.mode, "mode", "", "spec.documentLibrary.mode: Full (every file under the backup's prefix) or Incremental (each file version once in the project environment's repository); default: the schedule's or previous backup's, else Full")
	o.addWaitFlags(cmd)
	o.addDryRunFlags(cmd)
	return cmd
}

func (a *app) createBackup(ctx context.Context, env string, o *createOptions) error {
	if err := o.checkDryRun(); err != nil {
		return err
	}
	origin, err := a.backupOrigin(ctx, env, o.fromSchedule)
	if err != nil {
		return err
	}
	switch {
	case origin.schedule != nil:
		fprintf(a.streams.ErrOut, "spec from the template of BackupSchedule %s\n", origin.schedule.Name)
	case origin.previous != nil:
		fprintf(a.streams.ErrOut, "spec from BackupRequest %s, the newest of environment %s\n", origin.previous.Name, env)
	}
	return createAndWait(ctx, a, "backup", "backuprequest", func(now time.Time) (*backupv1alpha1.BackupRequest, error) {
		return newBackup(a.namespace, env, now, origin, o.spec)
	}, o, a.waitBackup)
}

// checkDryRun refuses a --dry-run value other than none, client and server, and a
// dry run's unknown -o.
func (o *createOptions) checkDryRun() error {
	switch o.dryRun {
	case "none":
		return nil
	case "client", "server":
		_, err := o.print.toPrinter()
		return err
	}
	return fmt.Errorf("--dry-run=%s: want none, client or server", o.dryRun)
}

// createAndWait creates the object build makes for the current second
// (createStamped), or prints it instead with --dry-run (client: as built; server: as
// the API server validated it), and waits for it with --wait.
func createAndWait[T client.Object](ctx context.Context, a *app, kind, resource string, build func(time.Time) (T, error), o *createOptions,
	wait func(ctx context.Context, namespace, name string, timeout time.Duration) error) error {
	obj, err := build(a.now())
	if err != nil {
		return err
	}
	if o.dryRun == "client" {
		return o.printDryRun(a.out(), obj)
	}
	var opts []client.CreateOption
	if o.dryRun == "server" {
		opts = append(opts, client.DryRunAll)
	}
	err = a.createStamped(ctx, func(now time.Time) (client.Object, error) {
		built, err := build(now)
		if err != nil {
			return nil, err
		}
		obj = built
		return built, nil
	}, opts...)
	if o.dryRun == "server" {
		if err != nil {
			return fmt.Errorf("create %s %s (server dry run, nothing created): %w", kind, obj.GetName(), err)
		}
		return o.printDryRun(a.out(), obj)
	}
	if err != nil {
		return fmt.Errorf("create %s %s: %w", kind, obj.GetName(), err)
	}
	fprintf(a.out(), "%s.%s/%s created\n", resource, backupv1alpha1.GroupVersion.Group, obj.GetName())
	if !o.wait {
		return nil
	}
	return wait(ctx, obj.GetNamespace(), obj.GetName(), o.timeout)
}

// printDryRun prints what --dry-run made, as -o says (YAML by default).
func (o *createOptions) printDryRun(w io.Writer, obj runtime.Object) error {
	printer, err := o.print.toPrinter()
	if err != nil {
		return err
	}
	return printObject(w, obj, printer)
}

// maxNameAttempts is how many consecutive seconds createStamped tries for a free name.
const maxNameAttempts = 5

// createStamped creates the object build makes for the current second. Its name
// carries the second (like its destination, for a backup): when another object took
// it, the next second's object is created instead, up to maxNameAttempts.
func (a *app) createStamped(ctx context.Context, build func(now time.Time) (client.Object, error), opts ...client.CreateOption) error {
	now := a.now()
	for attempt := 0; ; attempt++ {
		obj, err := build(now.Add(time.Duration(attempt) * time.Second))
		if err != nil {
			return err
		}
		err = a.cl.Create(ctx, obj, opts...)
		if !apierrors.IsAlreadyExists(err) || attempt == maxNameAttempts-1 {
			return err
		}
	}
}

// backupOrigin finds where backup create takes the spec of env from.
func (a *app) backupOrigin(ctx context.Context, env, fromSchedule string) (backupOrigin, error) {
	if fromSchedule != "" {
		sched := &backupv1alpha1.BackupSchedule{}
		if err := a.cl.Get(ctx, client.ObjectKey{Namespace: a.namespace, Name: fromSchedule}, sched); err != nil {
			return backupOrigin{}, fmt.Errorf("get schedule %s: %w", fromSchedule, err)
		}
		return backupOrigin{schedule: sched}, nil
	}
	var schedules backupv1alpha1.BackupScheduleList
	if err := a.cl.List(ctx, &schedules, client.InNamespace(a.namespace)); err != nil {
		return backupOrigin{}, fmt.Errorf("list schedules: %w", err)
	}
	sched, err := scheduleOfEnvironment(schedules.Items, env)
	if err != nil || sched != nil {
		return backupOrigin{schedule: sched}, err
	}
	var backups backupv1alpha1.BackupRequestList
	if err := a.cl.List(ctx, &backups, client.InNamespace(a.namespace)); err != nil {
		return backupOrigin{}, fmt.Errorf("list backups: %w", err)
	}
	return backupOrigin{previous: newestBackupOf(backups.Items, env)}, nil
}

// waitBackup watches the backup until it is Succeeded, Failed or Expired, then
// reports it.
func (a *app) waitBackup(ctx context.Context, namespace, name string, timeout time.Duration) error {
	return waitFor(ctx, a, &backupv1alpha1.BackupRequestList{}, "backup", namespace, name, timeout, backupProgress,
		func(br *backupv1alpha1.BackupRequest) bool { return br.Status.Phase.IsTerminal() }, a.reportBackup)
}

// reportBackup prints a finished backup's outcome; a Failed or Expired one is an error.
func (a *app) reportBackup(br *backupv1alpha1.BackupRequest) error {
	st := &br.Status
	w := a.out()
	fprintf(w, "backup %s %s: %s\n", br.Name, st.Phase, st.Message)
	if st.Phase != backupv1alpha1.PhaseSucceeded {
		if c := failingCondition(st.Conditions); c != nil {
			fprintf(w, "condition %s=%s (%s): %s\n", c.Type, c.Status, c.Reason, c.Message)
		}
		return fmt.Errorf("backup %s %s: %s", br.Name, st.Phase, st.Message)
	}
	for _, line := range backupSummary(br) {
		fprintln(w, "  "+line)
	}
	return nil
}

// backupSummary is what a backup holds, one line per part.
func backupSummary(br *backupv1alpha1.BackupRequest) []string {
	st := &br.Status
	var lines []string
	if db := st.Database; db != nil && db.SnapshotID != "" {
		lines = append(lines, fmt.Sprintf("database snapshot: %s (%s, %s %s, %s)", db.SnapshotID, orNone(db.Status), db.Engine, db.EngineVersion, manifest.HumanBytes(db.SizeBytes)))
	}
	if dl := st.DocumentLibrary; dl != nil && dl.Mode == backupv1alpha1.ModeIncremental {
		lines = append(lines, fmt.Sprintf("document library: %d objects, %s (%d copied, %d referenced in %s, %d excluded)",
			dl.ObjectsTotal, manifest.HumanBytes(dl.TotalSizeBytes), dl.ObjectsCopied, dl.ObjectsReferenced, orNone(dl.Repository), dl.ObjectsExcluded))
	} else if dl != nil {
		lines = append(lines, fmt.Sprintf("document library: %d objects, %s (%d copied, %d already there, %d excluded)",
			dl.ObjectsTotal, manifest.HumanBytes(dl.TotalSizeBytes), dl.ObjectsCopied, dl.ObjectsSkipped, dl.ObjectsExcluded))
	}
	if m := st.Manifest; m != nil && m.Location != "" {
		lines = append(lines, fmt.Sprintf("manifest: %s (%s)", m.Location, m.Checksum))
	}
	if st.ExpiresAt != nil {
		lines = append(lines, "expires: "+st.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return lines
}

func (a *app) backupListCommand() *cobra.Command {
	return listCommand(a, "backups", "List BackupRequests: NAME, ENV, PHASE, OBJECTS, SIZE, STARTED, DURATION",
		&backupv1alpha1.BackupRequestList{}, func(l *backupv1alpha1.BackupRequestList, withNamespace bool, now time.Time) ([]string, [][]string) {
			return backupRows(l.Items, withNamespace, now)
		})
}

// listCommand is the `list` subcommand of the objects list holds: the namespace's (every
// namespace's with -A) as the table rows makes, or as -o says (kubectl get's formats).
func listCommand[L client.ObjectList](a *app, plural, short string, list L,
	rows func(list L, withNamespace bool, now time.Time) (header []string, rows [][]string)) *cobra.Command {
	var allNamespaces bool
	print := newPrintFlags("")
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   short,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var printer printers.ResourcePrinter
			if !print.human() {
				var err error
				if printer, err = print.toPrinter(); err != nil {
					return err
				}
			}
			var opts []client.ListOption
			if !allNamespaces {
				opts = append(opts, client.InNamespace(a.namespace))
			}
			if err := a.cl.List(cmd.Context(), list, opts...); err != nil {
				return fmt.Errorf("list %s: %w", plural, err)
			}
			if printer != nil {
				return printObject(a.out(), list, printer)
			}
			header, body := rows(list, allNamespaces, a.now())
			if len(body) == 0 {
				fprintln(a.streams.ErrOut, "No "+plural+" found.")
				return nil
			}
			if print.columns.NoHeaders {
				header = nil
			}
			return table(a.out(), header, body)
		},
	}
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the "+plural+" of every namespace")
	print.addFlags(cmd, "the table")
	return cmd
}

// backupRows is the backup list table: oldest first (the newest at the bottom, by
// namespace with -A).
func backupRows(items []backupv1alpha1.BackupRequest, withNamespace bool, now time.Time) ([]string, [][]string) {
	items = slices.Clone(items)
	slices.SortStableFunc(items, func(x, y backupv1alpha1.BackupRequest) int {
		if c := strings.Compare(x.Namespace, y.Namespace); c != 0 {
			return c
		}
		if c := x.CreationTimestamp.Compare(y.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	header := []string{"NAME", "ENV", "PHASE", "OBJECTS", "SIZE", "STARTED", "DURATION"}
	if withNamespace {
		header = append([]string{"NAMESPACE"}, header...)
	}
	rows := make([][]string, 0, len(items))
	for i := range items {
		br := &items[i]
		st := &br.Status
		objects := ""
		if st.DocumentLibrary != nil {
			objects = fmt.Sprint(st.DocumentLibrary.ObjectsTotal)
		}
		started := ""
		if st.StartTime != nil {
			started = age(st.StartTime, now) + " ago"
		}
		row := []string{br.Name, br.Spec.Environment, backupPhase(st), objects, st.Size, started, elapsed(st.StartTime, st.CompletionTime, now)}
		if withNamespace {
			row = append([]string{br.Namespace}, row...)
		}
		rows = append(rows, row)
	}
	return header, rows
}

// backupPhase is the PHASE column: the phase, and why a Pending backup that already
// started waits (the cloud refused it for a quota), so the list does not show it as
// an ordinary queued request.
func backupPhase(st *backupv1alpha1.BackupRequestStatus) string {
	if ready := st.Condition(backupv1alpha1.ConditionReady); st.Phase == backupv1alpha1.PhasePending &&
		ready != nil && ready.Reason == string(backupv1alpha1.ReasonWaitingForQuota) {
		return string(st.Phase) + " (" + ready.Reason + ")"
	}
	return phaseOr(string(st.Phase))
}

func (a *app) backupDescribeCommand() *cobra.Command {
	o := &describeOptions{}
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a BackupRequest: spec, status, conditions, events, its manifest and its history row",
		Long: `Show a BackupRequest: its spec, status and conditions, its events, a summary of its
manifest read from the bucket (with the standard AWS environment: AWS_REGION,
AWS_ENDPOINT_URL, credentials from the default chain) with its checksum verified, and
its row of the backup-history database (--history-dsn, or DATABASE_URL / DB_HOST...
as the controller reads them).`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.describeBackup(cmd.Context(), args[0], o)
		},
	}
	o.addFlags(cmd)
	return cmd
}
