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
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/database"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/schedule"
)

func (a *app) restoreCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "restore", Short: "Create, list and describe RestoreRequests"}
	cmd.AddCommand(a.restoreCreateCommand(), a.restoreListCommand(), a.restoreDescribeCommand())
	return cmd
}

func (a *app) restoreListCommand() *cobra.Command {
	return listCommand(a, "restores", "List RestoreRequests (verifications too): NAME, BACKUP, KIND, PHASE, OBJECTS, STARTED, DURATION",
		&backupv1alpha1.RestoreRequestList{}, func(l *backupv1alpha1.RestoreRequestList, withNamespace bool, now time.Time) ([]string, [][]string) {
			return restoreRows(l.Items, withNamespace, now)
		})
}

// restoreRows is the restore list table, oldest first like the backup list. OBJECTS
// is what a restore wrote (of its total), or what a verification checked.
func restoreRows(items []backupv1alpha1.RestoreRequest, withNamespace bool, now time.Time) ([]string, [][]string) {
	items = slices.Clone(items)
	slices.SortStableFunc(items, func(x, y backupv1alpha1.RestoreRequest) int {
		if c := strings.Compare(x.Namespace, y.Namespace); c != 0 {
			return c
		}
		if c := x.CreationTimestamp.Compare(y.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	header := []string{"NAME", "BACKUP", "KIND", "PHASE", "OBJECTS", "STARTED", "DURATION"}
	if withNamespace {
		header = append([]string{"NAMESPACE"}, header...)
	}
	rows := make([][]string, 0, len(items))
	for i := range items {
		rr := &items[i]
		st := &rr.Status
		kind, objects := "restore", ""
		if rr.Spec.VerifyOnly {
			kind = "verify"
			if v := st.Verification; v != nil {
				objects = fmt.Sprintf("%d checked", v.ObjectsChecked)
			}
		} else if dl := st.DocumentLibrary; dl != nil {
			objects = fmt.Sprintf("%d/%d", dl.ObjectsRestored+dl.ObjectsSkipped, dl.ObjectsTotal)
		}
		started := ""
		if st.StartTime != nil {
			started = age(st.StartTime, now) + " ago"
		}
		row := []string{rr.Name, rr.Spec.Source.BackupRequestName, kind, phaseOr(string(st.Phase)), objects, started, elapsed(st.StartTime, st.CompletionTime, now)}
		if withNamespace {
			row = append([]string{rr.Namespace}, row...)
		}
		rows = append(rows, row)
	}
	return header, rows
}

// restoreFlags are the flags of restore create.
type restoreFlags struct {
	from, name                                 string
	targetInstance, targetBucket, targetPrefix string
	skipExisting                               bool
	overwrite                                  string
	// connectionSecret names the database a dump backup is loaded into (with
	// targetInstance: the new instance's master user, password and database);
	// overwriteDatabase must repeat it to load into a database that has tables.
	connectionSecret, overwriteDatabase string
	// instanceClass is the class of the new instance.
	instanceClass string
	// databaseAuth is --database-auth: how the dumper logs in to the Secret's database.
	databaseAuth string
}

// newRestore is the RestoreRequest of restore create, named name or
// "<backup>-restore-<stamp>". --overwrite must repeat the target exactly as
// "<bucket>/<prefix>": it becomes the confirm-overwrite annotation the controller
// requires for existingObjects Overwrite.
func newRestore(namespace string, now time.Time, f restoreFlags) (*backupv1alpha1.RestoreRequest, error) {
	if f.from == "" {
		return nil, fmt.Errorf("--from: name the BackupRequest to restore")
	}
	if f.targetInstance == "" && f.connectionSecret == "" && f.targetBucket == "" {
		return nil, fmt.Errorf("nothing to restore into: give --target-instance (a snapshot) or --connection-secret (a dump), and/or --target-bucket (kubectl lc2 backup verify only checks a backup)")
	}
	if f.targetInstance != "" && f.connectionSecret != "" && f.overwriteDatabase != "" {
		return nil, fmt.Errorf("--overwrite-database with --target-instance: a new instance is empty, there is nothing to overwrite")
	}
	if f.instanceClass != "" && f.targetInstance == "" {
		return nil, fmt.Errorf("--instance-class sets up the new instance of --target-instance")
	}
	auth, ok := databaseAuths[strings.ToLower(f.databaseAuth)]
	switch {
	case f.databaseAuth != "" && !ok:
		return nil, fmt.Errorf("--database-auth %q: spec.database.authentication must be password or iam", f.databaseAuth)
	case f.databaseAuth != "" && f.connectionSecret == "":
		return nil, fmt.Errorf("--database-auth is how the dumper logs in to the database of --connection-secret: give --connection-secret")
	case auth == backupv1alpha1.DatabaseAuthIAM && f.targetInstance != "":
		return nil, fmt.Errorf("--database-auth iam with --target-instance: a new instance is created with the Secret's master password, which the load uses")
	}
	if f.overwriteDatabase != "" && f.overwriteDatabase != f.connectionSecret {
		return nil, fmt.Errorf("--overwrite-database=%s does not confirm the target: repeat the Secret's name, --overwrite-database=%s", f.overwriteDatabase, f.connectionSecret)
	}
	if f.targetBucket == "" && (f.targetPrefix != "" || f.skipExisting || f.overwrite != "") {
		return nil, fmt.Errorf("--target-prefix, --skip-existing and --overwrite need --target-bucket")
	}
	if f.skipExisting && f.overwrite != "" {
		return nil, fmt.Errorf("--skip-existing and --overwrite exclude each other")
	}
	rr := &backupv1alpha1.RestoreRequest{}
	rr.Namespace, rr.Name = namespace, f.name
	if rr.Name == "" {
		rr.Name = f.from + "-restore-" + schedule.SlotStamp(now)
	}
	rr.Spec.Source.BackupRequestName = f.from
	if f.targetInstance != "" || f.connectionSecret != "" {
		rr.Spec.Database = &backupv1alpha1.DatabaseRestoreSpec{TargetInstanceID: f.targetInstance, InstanceClass: f.instanceClass}
	}
	if f.connectionSecret != "" {
		rr.Spec.Database.ConnectionSecretRef = &backupv1alpha1.SecretReference{Name: f.connectionSecret}
		rr.Spec.Database.Authentication = auth
		if f.overwriteDatabase != "" {
			rr.Spec.Database.ExistingData = backupv1alpha1.ExistingDataOverwrite
			rr.Annotations = map[string]string{backupv1alpha1.ConfirmDatabaseOverwriteAnnotation: f.connectionSecret}
		}
	}
	if f.targetBucket != "" {
		dl := &backupv1alpha1.DocumentLibraryRestoreSpec{
			TargetBucket:    backupv1alpha1.BucketName(f.targetBucket),
			TargetPrefix:    backupv1alpha1.ObjectPrefix(f.targetPrefix),
			ExistingObjects: backupv1alpha1.ExistingObjectsRefuse,
		}
		switch {
		case f.skipExisting:
			dl.ExistingObjects = backupv1alpha1.ExistingObjectsSkip
		case f.overwrite != "":
			target := f.targetBucket + "/" + dl.TargetKeyPrefix()
			if f.overwrite != target {
				return nil, fmt.Errorf("--overwrite=%s does not confirm the target: repeat it exactly, --overwrite=%s", f.overwrite, target)
			}
			dl.ExistingObjects = backupv1alpha1.ExistingObjectsOverwrite
			if rr.Annotations == nil {
				rr.Annotations = map[string]string{}
			}
			rr.Annotations[backupv1alpha1.ConfirmOverwriteAnnotation] = target
		}
		rr.Spec.DocumentLibrary = dl
	}
	return rr, nil
}

func (a *app) restoreCreateCommand() *cobra.Command {
	var f restoreFlags
	o := &createOptions{}
	cmd := &cobra.Command{
		Use:   "create --from BACKUP",
		Short: "Create a RestoreRequest of a BackupRequest into a new database instance and/or a bucket and prefix",
		Long: `Create a RestoreRequest of the BackupRequest --from, named <BACKUP>-restore-<YYYYMMDDHHMMSS>
(UTC) unless --name is given. Files go to --target-bucket/--target-prefix: by default only
into an empty prefix; --skip-existing leaves objects already there alone;
--overwrite=<bucket>/<prefix> replaces the objects that differ and must repeat the target
exactly (it becomes the backup.liferay.cloud/confirm-overwrite annotation). The snapshot
goes to the new instance --target-instance; a dump backup's dump is loaded into the
database the Secret --connection-secret names, which must be empty unless
--overwrite-database repeats the Secret's name (the dump's own tables are replaced).
With both --target-instance and --connection-secret, the new instance is created empty
(of --instance-class, or the class the backup recorded) with the Secret's user,
password and database as its master credentials, and the dump is loaded into it.`,
		Example: `  kubectl lc2 restore create --from prd-20251109020000 --target-bucket liferay-retail-prd-dl \
      --target-prefix document_library/ --skip-existing --wait
  kubectl lc2 restore create --from prd-20251109020000 --target-instance retail-prd-db-restored
  kubectl lc2 restore create --from prd-dump-20251109020000 --connection-secret retail-restored-db --wait
  kubectl lc2 restore create --from prd-dump-20251109020000 --target-instance retail-prd-db-restored \
      --connection-secret retail-restored-master --instance-class db.t3.medium --wait`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.createRestore(cmd.Context(), func(now time.Time) (*backupv1alpha1.RestoreRequest, error) {
				return newRestore(a.namespace, now, f)
			}, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "the BackupRequest to restore (required)")
	fl.StringVar(&f.name, "name", "", "the RestoreRequest's name (default <BACKUP>-restore-<stamp>)")
	fl.StringVar(&f.targetInstance, "target-instance", "", "restore the snapshot into this new RDS instance (with --connection-secret: create it empty and load the dump into it)")
	fl.StringVar(&f.connectionSecret, "connection-secret", "", "load a dump backup's dump into the database this Secret names (host, port, database, user, password; with --target-instance: its master user, password and database)")
	fl.StringVar(&f.instanceClass, "instance-class", "", "the new instance's class (for example db.t3.medium); default the class the backup recorded")
	fl.StringVar(&f.databaseAuth, "database-auth", "", "spec.database.authentication: password (the Secret's) or iam (an RDS IAM token the dumper mints; the Secret's host is the RDS endpoint)")
	fl.StringVar(&f.overwriteDatabase, "overwrite-database", "", "load into a database that has tables, replacing the dump's own tables; confirm by repeating the Secret's name")
	fl.StringVar(&f.targetBucket, "target-bucket", "", "restore the files into this bucket")
	fl.StringVar(&f.targetPrefix, "target-prefix", "", "under this prefix of --target-bucket")
	fl.BoolVar(&f.skipExisting, "skip-existing", false, "leave objects already at the target alone (existingObjects: Skip)")
	fl.StringVar(&f.overwrite, "overwrite", "", "replace objects that differ (existingObjects: Overwrite); confirm by repeating the target as <bucket>/<prefix>")
	o.addWaitFlags(cmd)
	o.addDryRunFlags(cmd)
	return cmd
}

// newVerification is the verifyOnly RestoreRequest of backup verify.
func newVerification(namespace, backup string, now time.Time) *backupv1alpha1.RestoreRequest {
	rr := &backupv1alpha1.RestoreRequest{}
	rr.Namespace, rr.Name = namespace, backup+"-verify-"+schedule.SlotStamp(now)
	rr.Spec.Source.BackupRequestName = backup
	rr.Spec.VerifyOnly = true
	return rr
}

// createRestore creates the RestoreRequest build makes (see createStamped), prints
// it instead with --dry-run, and waits for it with --wait.
func (a *app) createRestore(ctx context.Context, build func(time.Time) (*backupv1alpha1.RestoreRequest, error), o *createOptions) error {
	if err := o.checkDryRun(); err != nil {
		return err
	}
	rr, err := build(a.now())
	if err != nil {
		return err
	}
	if name := rr.Spec.Source.BackupRequestName; name != "" && o.dryRun != "client" {
		if err := a.requireSucceededBackup(ctx, name); err != nil {
			return err
		}
	}
	return createAndWait(ctx, a, "restore", "restorerequest", build, o, a.waitRestore)
}

// requireSucceededBackup refuses, before anything is created, a restore or a
// verification of a BackupRequest that is not there or not Succeeded: the controller
// would only fail the RestoreRequest for it (SourceNotReady), leaving an object behind.
func (a *app) requireSucceededBackup(ctx context.Context, name string) error {
	br := &backupv1alpha1.BackupRequest{}
	if err := a.cl.Get(ctx, client.ObjectKey{Namespace: a.namespace, Name: name}, br); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("there is no BackupRequest %s in namespace %s (kubectl lc2 backup list shows the backups); nothing created", name, a.namespace)
		}
		return fmt.Errorf("get backup %s: %w", name, err)
	}
	if br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		return fmt.Errorf("BackupRequest %s is %s, not Succeeded: only a Succeeded backup can be restored or verified; nothing created", name, phaseOr(string(br.Status.Phase)))
	}
	return nil
}

func (a *app) backupVerifyCommand() *cobra.Command {
	o := &createOptions{wait: true}
	cmd := &cobra.Command{
		Use:   "verify NAME",
		Short: "Verify a backup: a verifyOnly RestoreRequest, waited for; exit 1 when it has problems",
		Long: `Create a RestoreRequest with verifyOnly: true of the BackupRequest NAME, named
<NAME>-verify-<YYYYMMDDHHMMSS> (UTC), wait for it and print the result: the manifest and
inventory checksums, every object with its size and ETag, the snapshot. It writes nothing.
Exit 1 when the backup has problems.`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.createRestore(cmd.Context(), func(now time.Time) (*backupv1alpha1.RestoreRequest, error) {
				return newVerification(a.namespace, args[0], now), nil
			}, o)
		},
	}
	cmd.Flags().DurationVar(&o.timeout, "timeout", 0, "stop waiting after this long (exit 1); 0: no limit")
	o.dryRun = "none"
	return cmd
}

// waitRestore watches the restore until it is Succeeded or Failed, then reports it.
func (a *app) waitRestore(ctx context.Context, namespace, name string, timeout time.Duration) error {
	return waitFor(ctx, a, &backupv1alpha1.RestoreRequestList{}, "restore", namespace, name, timeout, restoreProgress,
		func(rr *backupv1alpha1.RestoreRequest) bool { return rr.Status.Phase.IsTerminal() }, a.reportRestore)
}

// reportRestore prints a finished restore's outcome; a Failed one is an error.
func (a *app) reportRestore(rr *backupv1alpha1.RestoreRequest) error {
	st := &rr.Status
	w := a.out()
	what := "restore"
	if rr.Spec.VerifyOnly {
		what = "verification"
	}
	fprintf(w, "%s %s %s: %s\n", what, rr.Name, st.Phase, st.Message)
	writeRestoreResult(w, rr)
	if st.Phase != backupv1alpha1.RestorePhaseSucceeded {
		if c := failingCondition(st.Conditions); c != nil {
			fprintf(w, "condition %s=%s (%s): %s\n", c.Type, c.Status, c.Reason, c.Message)
		}
		return fmt.Errorf("%s %s %s: %s", what, rr.Name, st.Phase, st.Message)
	}
	return nil
}

// writeRestoreResult writes what a restore did or found, its validation errors and
// verification problems.
func writeRestoreResult(w io.Writer, rr *backupv1alpha1.RestoreRequest) {
	st := &rr.Status
	for _, e := range st.ValidationErrors {
		fprintln(w, "  validation error: "+e)
	}
	switch db := st.Database; {
	case db == nil:
	case db.Dump != nil && db.InstanceID != "":
		fprintf(w, "  database: dump %s (%s) loaded into the new instance %s %s, %d tables' row counts checked\n",
			db.Dump.Source, manifest.HumanBytes(db.Dump.SizeBytes), db.InstanceID, db.Endpoint, db.Dump.TablesChecked)
	case db.Dump != nil && rr.Spec.Database != nil && rr.Spec.Database.ConnectionSecretRef != nil:
		fprintf(w, "  database: dump %s (%s) loaded into the database of Secret %s, %d tables' row counts checked\n",
			db.Dump.Source, manifest.HumanBytes(db.Dump.SizeBytes), rr.Spec.Database.ConnectionSecretRef.Name, db.Dump.TablesChecked)
	default:
		fprintf(w, "  database: instance %s %s %s\n", db.InstanceID, orNone(db.Status), db.Endpoint)
	}
	if v := st.Verification; v != nil && v.Dump != nil {
		fprintf(w, "  dump check: %s %s\n", v.Dump.Location, orNone(v.Dump.Result))
	}
	if dl := st.DocumentLibrary; dl != nil {
		fprintf(w, "  document library: %d of %d objects restored (%s), %d left as they were\n",
			dl.ObjectsRestored, dl.ObjectsTotal, manifest.HumanBytes(dl.BytesRestored), dl.ObjectsSkipped)
	}
	if v := st.Verification; v != nil {
		fprintf(w, "  verification: %d objects checked, %d missing, %d different\n", v.ObjectsChecked, v.ObjectsMissing, v.ObjectsDifferent)
		for _, p := range v.Problems {
			fprintln(w, "    "+p)
		}
	}
}

func (a *app) restoreDescribeCommand() *cobra.Command {
	o := &describeOptions{}
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a RestoreRequest: spec, status, validation errors, verification problems, conditions, events, history row",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.describeRestore(cmd.Context(), args[0], o)
		},
	}
	o.addFlags(cmd)
	return cmd
}

func (a *app) describeRestore(ctx context.Context, name string, o *describeOptions) error {
	rr := &backupv1alpha1.RestoreRequest{}
	if err := a.cl.Get(ctx, client.ObjectKey{Namespace: a.namespace, Name: name}, rr); err != nil {
		return fmt.Errorf("get restore %s: %w", name, err)
	}
	now := a.now()
	w := a.out()
	s := &section{w: w}
	s.header(rr, now)

	spec := &rr.Spec
	s.add("Source", orDefault(spec.Source.BackupRequestName, spec.Source.Manifest))
	if spec.VerifyOnly {
		s.add("Verify only", "true (writes nothing)")
	}
	if db := spec.Database; db != nil {
		switch {
		case db.TargetInstanceID != "" && db.ConnectionSecretRef != nil:
			s.add("Database", "new instance "+db.TargetInstanceID+", the dump loaded into it (master credentials of Secret "+db.ConnectionSecretRef.Name+")")
		case db.ConnectionSecretRef != nil:
			s.add("Database", "the dump loaded into the database of Secret "+db.ConnectionSecretRef.Name)
		default:
			s.add("Database", "new instance "+db.TargetInstanceID)
		}
	}
	if dl := spec.DocumentLibrary; dl != nil {
		s.add("Document library", fmt.Sprintf("into s3://%s/%s, existing objects: %s", dl.TargetBucket, dl.TargetKeyPrefix(), orDefault(string(dl.ExistingObjects), "Refuse")))
	}
	for _, k := range []string{backupv1alpha1.ConfirmOverwriteAnnotation, backupv1alpha1.AllowRepeatAnnotation} {
		if v, ok := rr.Annotations[k]; ok {
			s.add(k, v)
		}
	}
	s.flush("Spec")

	st := &rr.Status
	s.add("Phase", phaseOr(string(st.Phase)))
	s.addIf("Message", st.Message)
	s.add("Started", timestamp(st.StartTime, now))
	s.add("Completed", timestamp(st.CompletionTime, now))
	s.addIf("Duration", elapsed(st.StartTime, st.CompletionTime, now))
	if src := st.Source; src != nil {
		s.add("Backup", fmt.Sprintf("%s of %s/%s (%d objects, snapshot %s)", src.BackupID, src.ProjectID, src.Environment, src.Objects, orNone(src.SnapshotID)))
		s.add("Manifest", src.ManifestLocation+" "+src.ManifestChecksum)
	}
	s.flush("Status")
	writeRestoreResult(w, rr)

	writeConditions(w, st.Conditions, now)
	if err := a.writeEvents(ctx, w, rr, now); err != nil {
		return err
	}
	fprintln(w, "History (restore_requests):")
	withHistory(ctx, w, o, func(ctx context.Context, db *database.Client) error {
		rec, err := db.GetRestoreRecordByUID(ctx, string(rr.UID))
		if err != nil {
			return err
		}
		writeRestoreRecord(w, rec)
		return nil
	})
	return nil
}

func writeRestoreRecord(w io.Writer, r *database.RestoreRecord) {
	s := &section{w: w, indent: "  "}
	s.add("Phase", r.Phase)
	s.addIf("Reason", r.Reason)
	s.addIf("Message", r.Message)
	s.add("Backup", strings.TrimSpace(r.BackupName+" "+r.BackupID))
	if name, ok := strings.CutPrefix(r.TargetInstanceID, backupv1alpha1.DumpTargetPrefix); ok {
		s.add("Database", "dump loaded into the database of Secret "+name)
	} else if r.TargetInstanceID != "" {
		s.add("Database", "instance "+r.TargetInstanceID)
	}
	if r.TargetBucket != "" {
		s.add("Document library", fmt.Sprintf("s3://%s/%s (%s): %d restored, %d skipped, %s", r.TargetBucket, r.TargetPrefix, r.ExistingObjects, r.ObjectsRestored, r.ObjectsSkipped, manifest.HumanBytes(r.BytesRestored)))
	}
	if r.VerifyOnly {
		s.add("Verification", fmt.Sprintf("%d missing, %d different", r.ObjectsMissing, r.ObjectsDifferent))
	}
	s.add("Requested", r.RequestedAt.UTC().Format(time.RFC3339))
	s.addIf("Completed", timeString(r.CompletionTime))
	s.flush("")
}
