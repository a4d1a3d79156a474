package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ScheduleLabel is the label every BackupRequest a BackupSchedule creates carries,
// naming the schedule. It is the only label a schedule puts on its backups: none of
// the schedule's own labels or annotations are copied (an Argo CD instance label
// would make Argo CD prune the backups).
const ScheduleLabel = "backup.liferay.cloud/schedule"

// ScheduledAtAnnotation on a scheduled BackupRequest is the slot it was created for
// (RFC 3339, UTC); retention buckets backups by it.
const ScheduledAtAnnotation = "backup.liferay.cloud/scheduled-at"

// RetentionAnnotation on a scheduled BackupRequest says who decides when it expires:
//   - RetentionBySchedule: its schedule's retention policy; its retentionDays is not
//     used once it succeeded (a failed backup still expires after retentionDays).
//   - RetentionExpire: its schedule's retention no longer keeps it; the BackupRequest
//     controller expires it at once through the normal retention path.
//
// Without the annotation the backup's retentionDays applies.
const RetentionAnnotation = "backup.liferay.cloud/retention"

// RunOfScheduleAnnotation on a BackupRequest started by hand from a schedule's
// template (kubectl lc2 schedule run-now, backup create --from-schedule) names the
// schedule. Such a backup carries neither the ScheduleLabel nor an owner reference:
// the schedule does not count it, its retention does not expire it, and deleting the
// schedule leaves it; its own retentionDays applies.
const RunOfScheduleAnnotation = "backup.liferay.cloud/run-of-schedule"

// Values of RetentionAnnotation.
const (
	RetentionBySchedule = "schedule"
	RetentionExpire     = "expire"
)

// ConcurrencyPolicy says what a schedule does when a slot comes while its previous
// backup is still running.
// +kubebuilder:validation:Enum=Forbid;Allow
type ConcurrencyPolicy string

const (
	// ConcurrencyForbid skips the slot (recorded in status.lastSkipped with reason
	// ConcurrencyForbidden) while a backup of this schedule is still running.
	ConcurrencyForbid ConcurrencyPolicy = "Forbid"
	// ConcurrencyAllow starts the backup anyway; it still waits for a slot of its
	// project (MAX_CONCURRENT_BACKUPS_PER_PROJECT).
	ConcurrencyAllow ConcurrencyPolicy = "Allow"
)

// DocumentLibraryTemplateSpec is DocumentLibraryBackupSpec in a schedule's template:
// the same fields, with destinationPrefix an optional base the schedule adds a
// per-run directory to.
type DocumentLibraryTemplateSpec struct {
	// sourceBucket is the bucket holding the Liferay document library.
	// +required
	SourceBucket BucketName `json:"sourceBucket"`

	// sourcePrefix is the key prefix of the document library inside sourceBucket. It
	// ends with '/'; empty selects the whole bucket.
	// +optional
	// +kubebuilder:default="document_library/"
	// +kubebuilder:validation:XValidation:rule="self == '' || self.endsWith('/')",message="sourcePrefix must end with '/' (for example \"document_library/\"), or be empty for the whole bucket"
	SourcePrefix ObjectPrefix `json:"sourcePrefix,omitempty"`

	// destinationBucket is the bucket the backups are written to.
	// +required
	DestinationBucket BucketName `json:"destinationBucket"`

	// destinationPrefix is the base under which each run writes its own directory
	// "<destinationPrefix><schedule name>/<slot, UTC, YYYYMMDDHHMMSS>/". It begins with
	// "<projectId>/" and ends with '/'; when omitted it is "<projectId>/<environment>/".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="self.endsWith('/')",message="destinationPrefix must end with '/' (for example \"retail/prd/\")"
	DestinationPrefix ObjectPrefix `json:"destinationPrefix,omitempty"`

	// mode is how each run stores the files: Full (the default) or Incremental, which
	// stores each file version once in <projectId>/.repository/<environment>/ and
	// copies only what the repository lacks (docs/incremental.md).
	// +optional
	// +kubebuilder:default=Full
	Mode DocumentLibraryMode `json:"mode,omitempty"`

	// excludeGeneratedFiles skips files Liferay regenerates on demand (thumbnails,
	// previews, adaptive-media renditions).
	// +optional
	ExcludeGeneratedFiles bool `json:"excludeGeneratedFiles,omitempty"`

	// excludePatterns are globs matched against keys relative to sourcePrefix;
	// '*' matches within one path segment and '**' across segments.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=1024
	ExcludePatterns []string `json:"excludePatterns,omitempty"`
}

// BackupTemplateSpec is the BackupRequest spec each run of a schedule gets. It has
// the BackupRequestSpec fields and rules, except that the destination prefix is
// derived per run (see DocumentLibraryTemplateSpec.destinationPrefix) and that it
// can be changed: a change applies from the next run.
// +kubebuilder:validation:XValidation:rule="has(self.database) || has(self.documentLibrary)",message="at least one of template.database and template.documentLibrary must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.documentLibrary) || !has(self.documentLibrary.destinationPrefix) || self.documentLibrary.destinationPrefix.startsWith(self.projectId + '/')",message="template.documentLibrary.destinationPrefix must begin with \"<projectId>/\": a project writes backups only under its own prefix",fieldPath=".documentLibrary.destinationPrefix"
// +kubebuilder:validation:XValidation:rule="!has(self.documentLibrary) || !has(self.documentLibrary.destinationPrefix) || !self.documentLibrary.destinationPrefix.startsWith(self.projectId + '/.')",message="template.documentLibrary.destinationPrefix must not begin with \"<projectId>/.\": those prefixes are the controller's (.repository/, .restores/)",fieldPath=".documentLibrary.destinationPrefix"
// +kubebuilder:validation:XValidation:rule="!has(self.documentLibrary) || self.documentLibrary.sourceBucket != self.documentLibrary.destinationBucket || (has(self.documentLibrary.sourcePrefix) && size(self.documentLibrary.sourcePrefix) > 0 && !(has(self.documentLibrary.destinationPrefix) ? self.documentLibrary.destinationPrefix : self.projectId + '/' + self.environment + '/').startsWith(self.documentLibrary.sourcePrefix))",message="template.documentLibrary.destinationPrefix (by default \"<projectId>/<environment>/\") must not lie inside sourcePrefix in the same bucket: every run would write into the document library it copies",fieldPath=".documentLibrary.destinationPrefix"
// +kubebuilder:validation:XValidation:rule="!has(self.database) || !has(self.provider) || self.provider == 'aws' || !has(self.database.instanceId)",message="template.database.instanceId names an RDS instance, which only provider aws has: on gcp, azure and local name the database with template.database.dump.connectionSecretRef",fieldPath=".database.instanceId"
// +kubebuilder:validation:XValidation:rule="!has(self.database) || !has(self.database.dump) || !has(self.database.dump.authentication) || self.database.dump.authentication != 'IAM' || !has(self.provider) || self.provider == 'aws'",message="template.database.dump.authentication IAM mints an RDS IAM token, which only provider aws has: on gcp, azure and local use Password",fieldPath=".database.dump.authentication"
// +kubebuilder:validation:XValidation:rule="!has(self.database) || !has(self.provider) || self.provider == 'aws' || (has(self.database.type) && self.database.type == 'dump')",message="template.database.type snapshot takes an RDS snapshot, which only provider aws has: on gcp, azure and local set template.database.type: dump",fieldPath=".database.type"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || self.provider != 'azure' || !has(self.documentLibrary) || self.documentLibrary.sourceBucket.matches('^[a-z0-9](-?[a-z0-9])*$')",message="template.documentLibrary.sourceBucket names an Azure container on provider azure: lowercase letters, digits and single hyphens, no dots",fieldPath=".documentLibrary.sourceBucket"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || self.provider != 'azure' || !has(self.documentLibrary) || self.documentLibrary.destinationBucket.matches('^[a-z0-9](-?[a-z0-9])*$')",message="template.documentLibrary.destinationBucket names an Azure container on provider azure: lowercase letters, digits and single hyphens, no dots",fieldPath=".documentLibrary.destinationBucket"
type BackupTemplateSpec struct {
	// projectId is the Liferay Cloud project, a lowercase DNS label. It must equal the
	// backup.liferay.cloud/project-id label of the schedule's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	ProjectID string `json:"projectId"`

	// environment is the project environment (for example prd, uat, dev), a lowercase DNS label.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Environment string `json:"environment"`

	// provider is the store holding the environment: aws (S3 and RDS), gcp (Cloud
	// Storage), azure (Blob Storage) or local (an S3-compatible store of its own). Only
	// aws has a database service; elsewhere the database is backed up with type: dump.
	// +optional
	// +kubebuilder:default=aws
	Provider CloudProvider `json:"provider,omitempty"`

	// database selects the database to snapshot. Omit it for a document-library-only backup.
	// +optional
	Database *DatabaseBackupSpec `json:"database,omitempty"`

	// documentLibrary selects the files to copy. Omit it for a database-only backup.
	// +optional
	DocumentLibrary *DocumentLibraryTemplateSpec `json:"documentLibrary,omitempty"`

	// retentionDays is how long each backup is kept after it succeeds (7 to 365). Not
	// allowed together with the schedule's retention, which then decides.
	// +optional
	// +kubebuilder:validation:Minimum=7
	// +kubebuilder:validation:Maximum=365
	RetentionDays *int32 `json:"retentionDays,omitempty"`
}

// ScheduleRetention keeps, among the schedule's successful backups, those restic's
// and borg's "forget" policies would keep (docs/schedules.md#retention): the newest
// keepLast, and the newest backup of each of the last keepHourly hours,
// keepDaily days, keepWeekly ISO weeks, keepMonthly months and keepYearly years that
// have a backup, periods taken in the schedule's time zone. A backup kept by any rule
// is kept. The others are expired through the normal retention path.
// +kubebuilder:validation:XValidation:rule="has(self.keepLast) || has(self.keepHourly) || has(self.keepDaily) || has(self.keepWeekly) || has(self.keepMonthly) || has(self.keepYearly)",message="retention must keep something: set at least one keep* field"
type ScheduleRetention struct {
	// keepLast keeps the newest n successful backups.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	KeepLast *int32 `json:"keepLast,omitempty"`
	// keepHourly keeps the newest backup of each of the last n hours with a backup.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	KeepHourly *int32 `json:"keepHourly,omitempty"`
	// keepDaily keeps the newest backup of each of the last n days with a backup.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	KeepDaily *int32 `json:"keepDaily,omitempty"`
	// keepWeekly keeps the newest backup of each of the last n ISO weeks with a backup.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	KeepWeekly *int32 `json:"keepWeekly,omitempty"`
	// keepMonthly keeps the newest backup of each of the last n months with a backup.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	KeepMonthly *int32 `json:"keepMonthly,omitempty"`
	// keepYearly keeps the newest backup of each of the last n years with a backup.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	KeepYearly *int32 `json:"keepYearly,omitempty"`
}

// BackupScheduleSpec says when to back up a project environment, how, and how many
// of the backups to keep.
// +kubebuilder:validation:XValidation:rule="!has(self.retention) || !has(self.template.retentionDays)",message="template.retentionDays and retention are exclusive: with retention, the schedule decides how long each backup is kept"
type BackupScheduleSpec struct {
	// schedule is a 5-field cron expression (minute hour day-of-month month
	// day-of-week), one of @hourly, @daily (@midnight), @weekly, @monthly, @yearly
	// (@annually), or @hourly-random, @daily-random, @weekly-random: a fixed time
	// derived from the schedule's namespace and name, so a fleet of schedules does not
	// start at the same moment. status.effectiveSchedule shows the cron in use.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="!self.contains('TZ=')",message="set the time zone with spec.timeZone, not CRON_TZ= or TZ= in the schedule"
	Schedule string `json:"schedule"`

	// timeZone is the IANA time zone the schedule is evaluated in (for example
	// Europe/Berlin). A wall-clock time skipped by a daylight-saving change runs once,
	// at the end of the gap; one repeated by it runs once, the first time.
	// +optional
	// +kubebuilder:default=UTC
	// +kubebuilder:validation:MaxLength=64
	TimeZone string `json:"timeZone,omitempty"`

	// suspend stops new runs; running backups continue. Slots that pass while
	// suspended are not run when the schedule is resumed.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// concurrencyPolicy is what happens when a slot comes while a backup of this
	// schedule is still running: Forbid (the default) skips the slot and says so in
	// status.lastSkipped; Allow starts it anyway.
	// +optional
	// +kubebuilder:default=Forbid
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`

	// startingDeadlineSeconds: a slot the controller reaches more than this many
	// seconds late (it was down, or busy) is recorded as missed instead of run. When
	// omitted, the most recent missed slot is always run, once.
	// +optional
	// +kubebuilder:validation:Minimum=1
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`

	// template is the spec of the BackupRequest each run creates, validated like one.
	// +required
	Template BackupTemplateSpec `json:"template"`

	// retention, when set, keeps only the successful backups its rules select, in the
	// schedule's time zone, and expires the others. Without it each backup's
	// retentionDays applies.
	// +optional
	Retention *ScheduleRetention `json:"retention,omitempty"`
}

// ScheduleSlotRecord is a slot the schedule did not run, and why.
type ScheduleSlotRecord struct {
	// time is the slot.
	// +required
	Time metav1.Time `json:"time"`
	// reason is why it was not run (ConcurrencyForbidden, Suspended, NameInUse).
	// +required
	Reason Reason `json:"reason"`
	// message explains the reason.
	// +optional
	Message string `json:"message,omitempty"`
}

// BackupScheduleStatus is the observed state of a BackupSchedule.
type BackupScheduleStatus struct {
	// observedGeneration is the generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// effectiveSchedule is the cron expression in use (the derived time for the
	// -random descriptors).
	// +optional
	EffectiveSchedule string `json:"effectiveSchedule,omitempty"`

	// lastScheduleTime is the slot of the newest backup the schedule created.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// nextScheduleTime is the next slot.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`

	// lastSuccessfulTime is when the newest successful backup of the schedule completed.
	// +optional
	LastSuccessfulTime *metav1.Time `json:"lastSuccessfulTime,omitempty"`

	// lastBackup names the newest BackupRequest the schedule created.
	// +optional
	LastBackup string `json:"lastBackup,omitempty"`

	// active names the schedule's BackupRequests that are not finished.
	// +optional
	// +listType=atomic
	Active []string `json:"active,omitempty"`

	// missedRuns counts the slots not run because the controller reached them too
	// late: older than the most recent missed slot, or later than startingDeadlineSeconds.
	// +optional
	MissedRuns int64 `json:"missedRuns,omitempty"`

	// lastMissedTime is the newest missed slot.
	// +optional
	LastMissedTime *metav1.Time `json:"lastMissedTime,omitempty"`

	// lastSkipped is the newest slot skipped on purpose, and why.
	// +optional
	LastSkipped *ScheduleSlotRecord `json:"lastSkipped,omitempty"`

	// conditions: Ready (False with reason Suspended or InvalidSchedule when the
	// schedule does not run).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// BackupSchedule creates a BackupRequest of a project environment at each slot of a
// cron schedule, and optionally keeps only some of them (grandfather-father-son).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bsched,categories=backup
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="a BackupSchedule name is at most 63 characters: it is the value of the backup.liferay.cloud/schedule label of its backups"
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.status.effectiveSchedule`
// +kubebuilder:printcolumn:name="TimeZone",type=string,JSONPath=`.spec.timeZone`,priority=1
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Last",type=date,JSONPath=`.status.lastScheduleTime`
// +kubebuilder:printcolumn:name="Next",type=string,JSONPath=`.status.nextScheduleTime`
// +kubebuilder:printcolumn:name="Last Success",type=date,JSONPath=`.status.lastSuccessfulTime`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BackupSchedule struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says when and how to back up.
	// +required
	Spec BackupScheduleSpec `json:"spec"`

	// status is the observed state of the schedule.
	// +optional
	Status BackupScheduleStatus `json:"status,omitempty"`
}

// BackupScheduleList is a list of BackupSchedules.
// +kubebuilder:object:root=true
type BackupScheduleList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the BackupSchedules.
	Items []BackupSchedule `json:"items"`
}

// RunPrefix is the destination prefix of the run at slot (a UTC compact time,
// YYYYMMDDHHMMSS): "<base>/<schedule>/<slot>/", base defaulting to
// "<projectId>/<environment>/".
func (s *BackupSchedule) RunPrefix(slot string) string {
	base := s.Spec.Template.ProjectID + "/" + s.Spec.Template.Environment + "/"
	if dl := s.Spec.Template.DocumentLibrary; dl != nil && dl.DestinationPrefix != "" {
		base = withSlash(dl.DestinationPrefix)
	}
	return base + s.Name + "/" + slot + "/"
}

// RunSpec is the BackupRequestSpec of the run stamped stamp (YYYYMMDDHHMMSS, UTC):
// the template's spec writing under RunPrefix(stamp). A scheduled run and a run
// started by hand both use it.
func (s *BackupSchedule) RunSpec(stamp string) BackupRequestSpec {
	return s.Spec.Template.RequestSpec(s.RunPrefix(stamp))
}

// RequestSpec is the BackupRequestSpec of the run whose document library goes to prefix.
func (t *BackupTemplateSpec) RequestSpec(prefix string) BackupRequestSpec {
	spec := BackupRequestSpec{
		ProjectID:     t.ProjectID,
		Environment:   t.Environment,
		Provider:      t.Provider,
		RetentionDays: t.RetentionDays,
	}
	if t.Database != nil {
		db := *t.Database
		spec.Database = &db
	}
	if dl := t.DocumentLibrary; dl != nil {
		spec.DocumentLibrary = &DocumentLibraryBackupSpec{
			SourceBucket:          dl.SourceBucket,
			SourcePrefix:          dl.SourcePrefix,
			DestinationBucket:     dl.DestinationBucket,
			DestinationPrefix:     ObjectPrefix(prefix),
			Mode:                  dl.Mode,
			ExcludeGeneratedFiles: dl.ExcludeGeneratedFiles,
			ExcludePatterns:       append([]string(nil), dl.ExcludePatterns...),
		}
	}
	if spec.Provider == "" {
		spec.Provider = ProviderAWS
	}
	return spec
}
