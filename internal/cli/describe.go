package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/database"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	awsprovider "github.com/liferay/lc2-backup-controller/internal/provider/aws"
	azureprovider "github.com/liferay/lc2-backup-controller/internal/provider/azure"
	gcpprovider "github.com/liferay/lc2-backup-controller/internal/provider/gcp"
	localprovider "github.com/liferay/lc2-backup-controller/internal/provider/local"
)

// describeOptions are the flags of backup describe and restore describe.
type describeOptions struct {
	historyDSN string
	manifest   bool
	timeout    time.Duration
}

func (o *describeOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.historyDSN, "history-dsn", "", "backup-history database URL (default: DATABASE_URL, or DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD, DB_SSL_MODE)")
	cmd.Flags().BoolVar(&o.manifest, "manifest", true, "read the manifest from the bucket (needs AWS_REGION and credentials)")
	cmd.Flags().DurationVar(&o.timeout, "external-timeout", 20*time.Second, "how long reading the manifest or the history database may take")
}

// section writes a heading and its "key: value" lines, aligned.
type section struct {
	w io.Writer
	// indent is put before each line; a section with a title is indented by two.
	indent string
	lines  [][2]string
}

func (s *section) add(key, value string) { s.lines = append(s.lines, [2]string{key, value}) }

func (s *section) addIf(key, value string) {
	if value != "" {
		s.add(key, value)
	}
}

func (s *section) flush(title string) {
	if title != "" {
		fprintln(s.w, title+":")
	}
	width := 0
	for _, l := range s.lines {
		width = max(width, len(l[0]))
	}
	indent := s.indent
	if title != "" {
		indent = "  "
	}
	for _, l := range s.lines {
		fprintf(s.w, "%s%-*s  %s\n", indent, width+1, l[0]+":", l[1])
	}
	s.lines = nil
}

// header opens a description with the object's name, namespace and age.
func (s *section) header(o metav1.Object, now time.Time) {
	created := o.GetCreationTimestamp()
	s.add("Name", o.GetName())
	s.add("Namespace", o.GetNamespace())
	s.add("Created", timestamp(&created, now))
	s.flush("")
}

func (a *app) describeBackup(ctx context.Context, name string, o *describeOptions) error {
	br := &backupv1alpha1.BackupRequest{}
	if err := a.cl.Get(ctx, client.ObjectKey{Namespace: a.namespace, Name: name}, br); err != nil {
		return fmt.Errorf("get backup %s: %w", name, err)
	}
	now := a.now()
	w := a.out()
	s := &section{w: w}
	s.add("Name", br.Name)
	s.add("Namespace", br.Namespace)
	s.add("Project", br.Spec.ProjectID)
	s.add("Environment", br.Spec.Environment)
	s.add("Provider", string(br.Spec.Provider))
	s.add("Created", timestamp(&br.CreationTimestamp, now))
	if sched := br.Labels[backupv1alpha1.ScheduleLabel]; sched != "" {
		s.add("Schedule", sched+" (slot "+br.Annotations[backupv1alpha1.ScheduledAtAnnotation]+")")
	}
	if sched := br.Annotations[backupv1alpha1.RunOfScheduleAnnotation]; sched != "" {
		s.add("Run of schedule", sched+" (started by hand; the schedule's retention does not apply)")
	}
	s.flush("")

	spec := &br.Spec
	if db := spec.Database; db != nil {
		s.add("Database", databaseSpecSummary(br.Namespace, db))
	}
	if dl := spec.DocumentLibrary; dl != nil {
		s.add("Document library", fmt.Sprintf("s3://%s/%s -> s3://%s/%s", dl.SourceBucket, dl.SourceKeyPrefix(), dl.DestinationBucket, dl.DestinationKeyPrefix()))
		s.add("Mode", orDefault(string(dl.Mode), string(backupv1alpha1.ModeFull)))
		if dl.ExcludeGeneratedFiles || len(dl.ExcludePatterns) > 0 {
			s.add("Excluded", excludedSummary(dl.ExcludeGeneratedFiles, dl.ExcludePatterns))
		}
	}
	if spec.RetentionDays != nil {
		s.add("Retention", fmt.Sprintf("%d days", *spec.RetentionDays))
	} else {
		s.add("Retention", "the controller's default (BACKUP_RETENTION_DAYS)")
	}
	s.flush("Spec")

	st := &br.Status
	s.add("Phase", phaseOr(string(st.Phase)))
	s.addIf("Message", st.Message)
	s.add("Started", timestamp(st.StartTime, now))
	s.add("Completed", timestamp(st.CompletionTime, now))
	s.addIf("Duration", elapsed(st.StartTime, st.CompletionTime, now))
	s.addIf("Expires", optionalTime(st.ExpiresAt, now))
	if db := st.Database; db != nil && db.Dump != nil {
		s.add("Database dump", dumpStatusSummary(db.Dump))
	}
	if db := st.Database; db != nil && (db.SnapshotID != "" || db.Dump == nil) {
		state := orNone(db.Status)
		if !strings.EqualFold(db.Status, "available") {
			state += fmt.Sprintf(" %d%%", db.PercentProgress)
		}
		s.add("Database snapshot", fmt.Sprintf("%s (%s, %s %s, %s)", orNone(db.SnapshotID), state, db.Engine, db.EngineVersion, manifest.HumanBytes(db.SizeBytes)))
	}
	if dl := st.DocumentLibrary; dl != nil {
		if dl.Mode == backupv1alpha1.ModeIncremental {
			s.add("Document library", fmt.Sprintf("%d objects, %s: %d copied (%s), %d referenced (%s) already in the repository, %d excluded",
				dl.ObjectsTotal, manifest.HumanBytes(dl.TotalSizeBytes), dl.ObjectsCopied, manifest.HumanBytes(dl.BytesCopied),
				dl.ObjectsReferenced, manifest.HumanBytes(dl.BytesReferenced), dl.ObjectsExcluded))
			s.addIf("Repository", dl.Repository)
		} else {
			s.add("Document library", fmt.Sprintf("%d objects, %s: %d copied (%s), %d already there, %d excluded",
				dl.ObjectsTotal, manifest.HumanBytes(dl.TotalSizeBytes), dl.ObjectsCopied, manifest.HumanBytes(dl.BytesCopied), dl.ObjectsSkipped, dl.ObjectsExcluded))
		}
		switch dl.Consistency {
		case backupv1alpha1.ConsistencyPointInTime:
			s.add("Consistency", "point in time: the files as they were at "+optionalTime(dl.PointInTime, now))
		case backupv1alpha1.ConsistencyLive:
			s.add("Consistency", "live: the source bucket is not versioned, so the files are as the copy found them (not point-in-time)")
		}
	}
	if c := st.Claim; c != nil {
		s.add("Claimed", fmt.Sprintf("s3://%s/%s", c.Bucket, c.Prefix))
	}
	if m := st.Manifest; m != nil {
		s.add("Manifest", orNone(m.Location))
		s.add("Manifest checksum", orNone(m.Checksum))
	}
	s.addIf("Size", st.Size)
	s.flush("Status")

	writeConditions(w, st.Conditions, now)
	if err := a.writeEvents(ctx, w, br, now); err != nil {
		return err
	}

	fprintln(w, "Manifest summary:")
	a.writeManifestSummary(ctx, w, br, o)

	fprintln(w, "History (backup_requests):")
	withHistory(ctx, w, o, func(ctx context.Context, db *database.Client) error {
		rec, err := db.GetBackupRecordByUID(ctx, string(br.UID))
		if err != nil {
			return err
		}
		writeBackupRecord(w, rec)
		return nil
	})
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func optionalTime(t *metav1.Time, now time.Time) string {
	if t == nil {
		return ""
	}
	return timestamp(t, now)
}

func excludedSummary(generated bool, patterns []string) string {
	var parts []string
	if generated {
		parts = append(parts, "generated files (thumbnails, previews, adaptive media)")
	}
	if len(patterns) > 0 {
		parts = append(parts, "patterns "+strings.Join(patterns, ", "))
	}
	return strings.Join(parts, "; ")
}

// writeConditions writes the conditions table.
func writeConditions(w io.Writer, conds []metav1.Condition, now time.Time) {
	fprintln(w, "Conditions:")
	if len(conds) == 0 {
		fprintln(w, "  <none>")
		return
	}
	rows := make([][]string, len(conds))
	for i, c := range conds {
		rows[i] = []string{"  " + c.Type, string(c.Status), c.Reason, age(&c.LastTransitionTime, now), c.Message}
	}
	_ = table(w, []string{"  TYPE", "STATUS", "REASON", "AGE", "MESSAGE"}, rows)
}

// writeEvents writes obj's events, oldest first.
func (a *app) writeEvents(ctx context.Context, w io.Writer, obj client.Object, now time.Time) error {
	var events corev1.EventList
	if err := a.cl.List(ctx, &events, client.InNamespace(obj.GetNamespace()),
		client.MatchingFields{"involvedObject.uid": string(obj.GetUID())}); err != nil {
		return fmt.Errorf("list events of %s: %w", obj.GetName(), err)
	}
	fprintln(w, "Events:")
	if len(events.Items) == 0 {
		fprintln(w, "  <none>")
		return nil
	}
	slices.SortStableFunc(events.Items, func(x, y corev1.Event) int { return eventTime(&x).Compare(eventTime(&y)) })
	rows := make([][]string, len(events.Items))
	for i := range events.Items {
		e := &events.Items[i]
		t := metav1.NewTime(eventTime(e))
		rows[i] = []string{"  " + e.Type, e.Reason, age(&t, now), strings.TrimSpace(e.Message)}
	}
	return table(w, []string{"  TYPE", "REASON", "AGE", "MESSAGE"}, rows)
}

// eventTime is when an event last happened, whichever API wrote it.
func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// writeManifestSummary reads the backup's manifest through the AWS provider, verifies
// its checksum and compares it with status, or says why it was not read.
func (a *app) writeManifestSummary(ctx context.Context, w io.Writer, br *backupv1alpha1.BackupRequest, o *describeOptions) {
	m := br.Status.Manifest
	switch {
	case m == nil || m.Location == "":
		fprintln(w, "  not read: the backup has no manifest (yet)")
		return
	case !o.manifest:
		fprintln(w, "  not read: --manifest=false")
		return
	}
	if missing := storeConfigMissing(br.Spec.Provider, os.Getenv); missing != "" {
		fprintln(w, "  not read: "+missing)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	man, err := readManifest(ctx, br.Spec.Provider, m.Location)
	if err != nil {
		fprintf(w, "  not read: %v\n", err)
		return
	}
	if wrong := notThisBackups(br, m.Location, man); len(wrong) > 0 {
		// A checksum proves only that the manifest was not changed after sealing, not who
		// sealed it: a manifest naming another backup is not shown as this one's.
		fprintf(w, "  NOT THIS BACKUP'S: the manifest at %s verifies, but %s; it was replaced, and its content is not shown\n",
			m.Location, strings.Join(wrong, "; "))
		return
	}
	verdict := "verifies, and matches status.manifest.checksum"
	if man.Checksum != m.Checksum {
		verdict = fmt.Sprintf("verifies, but DOES NOT MATCH status.manifest.checksum %s: the manifest was replaced", m.Checksum)
	}
	s := &section{w: w, indent: "  "}
	s.add("Location", m.Location)
	s.add("Checksum", man.Checksum+" "+verdict)
	s.add("Format", man.Version)
	s.add("Backup ID", man.BackupID)
	s.add("Taken", man.Timestamp.UTC().Format(time.RFC3339))
	s.add("Project", man.ProjectID+"/"+man.Environment)
	if db := man.Database; db != nil && db.SnapshotID != "" {
		s.add("Database", fmt.Sprintf("snapshot %s of %s (%s %s, %s)", db.SnapshotID, db.InstanceID, db.Engine, db.EngineVersion, manifest.HumanBytes(db.SizeBytes)))
	}
	if d := man.Database; d != nil && d.Dump != nil {
		s.add("Database dump", fmt.Sprintf("%s (%s %s by %s, %s, %s)", d.Dump.Key, d.Dump.Engine, d.Dump.ServerVersion, d.Dump.Tool,
			manifest.HumanBytes(d.Dump.SizeBytes), d.Dump.SHA256))
		if inv := d.Inventory; inv != nil {
			s.add("Dump inventory", fmt.Sprintf("%s, %d part(s), %d files (the dump and its record), %s", inv.Format, len(inv.Parts), inv.ObjectCount, manifest.HumanBytes(inv.TotalSizeBytes)))
		}
	}
	if dl := man.DocumentLibrary; dl != nil {
		s.add("Document library", fmt.Sprintf("%d objects, %s, from s3://%s/%s in s3://%s/%s", dl.ObjectCount, manifest.HumanBytes(dl.TotalSizeBytes),
			dl.SourceBucket, dl.SourcePrefix, dl.DestinationBucket, dl.DestinationPrefix))
		if inv := dl.Inventory; inv != nil {
			s.add("Inventory", fmt.Sprintf("%s, %d part(s), %d objects", inv.Format, len(inv.Parts), inv.ObjectCount))
		}
	}
	s.flush("")
}

// notThisBackups lists how the manifest read at location contradicts br: its project
// and environment, and where its files are, must be br's (every backup lies under its
// project's prefix, and a manifest beside its files).
func notThisBackups(br *backupv1alpha1.BackupRequest, location string, man *manifest.Manifest) []string {
	var wrong []string
	if man.ProjectID != br.Spec.ProjectID || man.Environment != br.Spec.Environment {
		wrong = append(wrong, fmt.Sprintf("it names project %s/%s, not %s/%s", man.ProjectID, man.Environment, br.Spec.ProjectID, br.Spec.Environment))
	}
	if _, key, err := provider.ParseObjectURL(location); err == nil && !strings.HasPrefix(key, br.Spec.ProjectID+"/") {
		wrong = append(wrong, fmt.Sprintf("it lies outside project %s's prefix %s/", br.Spec.ProjectID, br.Spec.ProjectID))
	}
	dl, spec := man.DocumentLibrary, br.Spec.DocumentLibrary
	switch {
	case dl != nil && spec == nil:
		wrong = append(wrong, fmt.Sprintf("it names files in s3://%s/%s, but the backup has no document library", dl.DestinationBucket, dl.DestinationPrefix))
	case dl != nil && (dl.DestinationBucket != string(spec.DestinationBucket) || dl.DestinationPrefix != spec.DestinationKeyPrefix()):
		wrong = append(wrong, fmt.Sprintf("its documentLibrary.destinationPrefix is s3://%s/%s, not the backup's s3://%s/%s",
			dl.DestinationBucket, dl.DestinationPrefix, spec.DestinationBucket, spec.DestinationKeyPrefix()))
	case dl != nil && dl.Incremental() && !strings.HasPrefix(dl.RepositoryPrefix, br.Spec.ProjectID+"/"):
		wrong = append(wrong, fmt.Sprintf("its documentLibrary.repositoryPrefix %s is not project %s's", dl.RepositoryPrefix, br.Spec.ProjectID))
	}
	if db, st := man.Database, br.Status.Database; db != nil && st != nil && st.SnapshotID != "" && db.SnapshotID != st.SnapshotID {
		wrong = append(wrong, fmt.Sprintf("its database.snapshotId is %s, not the backup's %s", db.SnapshotID, st.SnapshotID))
	}
	return wrong
}

// storeConfigMissing says what configuration of the backup's store the environment
// lacks ("" when it has what the store needs), so describe explains instead of timing out.
func storeConfigMissing(store backupv1alpha1.CloudProvider, getenv func(string) string) string {
	switch store {
	case backupv1alpha1.ProviderGCP:
		return "" // Application Default Credentials, or GCS_ENDPOINT / STORAGE_EMULATOR_HOST for an emulator
	case backupv1alpha1.ProviderAzure:
		if getenv(azureprovider.EnvAccountURL) == "" {
			return "no Azure configuration (set " + azureprovider.EnvAccountURL + ", and " + azureprovider.EnvAccountName + " with " + azureprovider.EnvAccountKey + " for a shared key)"
		}
	case backupv1alpha1.ProviderLocal:
		if getenv(provider.EnvLocalS3Endpoint) == "" {
			return "no local store configured (set " + provider.EnvLocalS3Endpoint + ", and its keys " + provider.EnvLocalS3AccessKeyID + ", " + provider.EnvLocalS3SecretAccessKey + ")"
		}
	default:
		if getenv("AWS_REGION") == "" && getenv("AWS_DEFAULT_REGION") == "" && getenv("AWS_PROFILE") == "" {
			return "no AWS configuration (set AWS_REGION and credentials, AWS_ENDPOINT_URL for an emulator)"
		}
	}
	return ""
}

// openStore opens the backup's store from its standard environment, as the manager
// and the dumper read it.
func openStore(ctx context.Context, store backupv1alpha1.CloudProvider) (provider.Provider, error) {
	switch store {
	case backupv1alpha1.ProviderGCP:
		return gcpprovider.New(ctx, gcpprovider.Options{Endpoint: os.Getenv("GCS_ENDPOINT"), MaxAttempts: 2})
	case backupv1alpha1.ProviderAzure:
		return azureprovider.New(azureprovider.Options{MaxRetries: 1})
	case backupv1alpha1.ProviderLocal:
		opts := localprovider.OptionsFromEnv(os.Getenv)
		opts.S3.MaxAttempts = 2
		return localprovider.New(ctx, opts)
	}
	return awsprovider.New(ctx, awsprovider.Options{MaxAttempts: 2})
}

// readManifest reads the manifest at location from the backup's store and verifies
// its checksum, as a restore does.
func readManifest(ctx context.Context, store backupv1alpha1.CloudProvider, location string) (*manifest.Manifest, error) {
	bucket, key, err := provider.ParseObjectURL(location)
	if err != nil {
		return nil, err
	}
	prov, err := openStore(ctx, store)
	if err != nil {
		return nil, err
	}
	data, err := provider.ReadSmallObject(ctx, prov, bucket, key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", location, err)
	}
	m, err := manifest.Verify(data)
	if err != nil {
		return nil, fmt.Errorf("the manifest at %s does not verify: %w", location, err)
	}
	return m, nil
}

// withHistory runs read against the backup-history database, or writes one line
// saying why it was not consulted: a describe never fails because of it.
func withHistory(ctx context.Context, w io.Writer, o *describeOptions, read func(context.Context, *database.Client) error) {
	cfg, configured, err := historyConfig(o.historyDSN)
	switch {
	case err != nil:
		fprintf(w, "  not consulted: %v\n", err)
		return
	case !configured:
		fprintln(w, "  not consulted: set --history-dsn or DATABASE_URL (or DB_HOST...)")
		return
	}
	cfg.ConnectTimeout = o.timeout
	db, err := database.Open(cfg)
	if err != nil {
		fprintf(w, "  not consulted: %v\n", err)
		return
	}
	defer func() { _ = db.Close() }()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := read(ctx, db); err != nil {
		if errors.Is(err, database.ErrNotFound) {
			fprintln(w, "  no row yet (the controller records a backup when it finishes)")
			return
		}
		fprintf(w, "  not reachable: %v\n", err)
	}
}

// historyConfig is the database of --history-dsn, else of the environment the
// controller reads (database.ConfigFromEnv); configured is false when neither is set.
func historyConfig(dsn string) (cfg database.Config, configured bool, err error) {
	if dsn != "" {
		return database.Config{URL: dsn}, true, nil
	}
	if os.Getenv(database.EnvURL) == "" && os.Getenv(database.EnvHost) == "" {
		return database.Config{}, false, nil
	}
	cfg, err = database.ConfigFromEnv()
	return cfg, err == nil, err
}

func writeBackupRecord(w io.Writer, r *database.BackupRecord) {
	s := &section{w: w, indent: "  "}
	s.add("Phase", r.Phase)
	s.addIf("Reason", r.Reason)
	s.addIf("Message", r.Message)
	if r.DBSnapshotID != "" {
		s.add("Database", fmt.Sprintf("snapshot %s of %s (%s %s, %s)", r.DBSnapshotID, r.DBInstanceID, r.DBEngine, r.DBEngineVersion, manifest.HumanBytes(r.DBSizeBytes)))
	}
	if r.DLDestinationBucket != "" {
		s.add("Document library", fmt.Sprintf("%d objects, %s (%d excluded) in s3://%s/%s", r.DLObjectCount, manifest.HumanBytes(r.DLTotalBytes), r.DLObjectsExcluded, r.DLDestinationBucket, r.DLDestinationPrefix))
		if r.DLMode == string(backupv1alpha1.ModeIncremental) {
			s.add("Incremental", fmt.Sprintf("%d copied (%s), %d referenced (%s), in %s", r.DLObjectsCopied, manifest.HumanBytes(r.DLBytesCopied),
				r.DLObjectsReferenced, manifest.HumanBytes(r.DLBytesReferenced), r.DLRepository))
		}
	}
	s.addIf("Manifest", strings.TrimSpace(r.ManifestLocation+" "+r.ManifestChecksum))
	s.add("Requested", r.RequestedAt.UTC().Format(time.RFC3339))
	s.addIf("Completed", timeString(r.CompletionTime))
	if r.DurationSeconds != nil {
		s.add("Duration", (time.Duration(*r.DurationSeconds * float64(time.Second))).Round(time.Second).String())
	}
	s.addIf("Expires", timeString(r.ExpiresAt))
	s.addIf("Deleted", timeString(r.DeletedAt))
	s.flush("")
}

func timeString(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// databaseSpecSummary says what the spec backs up of the database.
func databaseSpecSummary(namespace string, db *backupv1alpha1.DatabaseBackupSpec) string {
	if db.Type != backupv1alpha1.DatabaseBackupDump {
		return "snapshot of instance " + db.InstanceID
	}
	from := "instance " + db.InstanceID
	if d := db.Dump; d != nil && d.ConnectionSecretRef != nil {
		from = "the database of Secret " + namespace + "/" + d.ConnectionSecretRef.Name
	}
	if db.Dump.IAMAuthentication() {
		return fmt.Sprintf("dump of %s (source %s, RDS IAM token)", from, db.DumpSourceOrDefault())
	}
	return fmt.Sprintf("dump of %s (source %s)", from, db.DumpSourceOrDefault())
}

// dumpStatusSummary is a dump's progress or result.
func dumpStatusSummary(d *backupv1alpha1.DatabaseDumpStatus) string {
	if d.CompletionTime == nil {
		return "running (" + orNone(d.JobName) + ")"
	}
	return fmt.Sprintf("%s (%s %s by %s, %s, sha256 %s), verified", d.Location, d.Engine, d.ServerVersion, d.Tool, manifest.HumanBytes(d.SizeBytes), d.SHA256)
}
