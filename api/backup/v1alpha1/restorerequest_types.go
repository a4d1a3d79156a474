package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConfirmOverwriteAnnotation must be set to "<targetBucket>/<targetPrefix>" for a
// RestoreRequest with existingObjects: Overwrite; without it the restore is refused.
const ConfirmOverwriteAnnotation = "backup.liferay.cloud/confirm-overwrite"

// AllowRepeatAnnotation set to "true" lets a RestoreRequest run although the history
// database records a completed restore of the same backup into the same targets.
const AllowRepeatAnnotation = "backup.liferay.cloud/allow-repeat"

// RestoreSource names the backup to restore: exactly one of backupRequestName and manifest.
// +kubebuilder:validation:XValidation:rule="has(self.backupRequestName) != has(self.manifest)",message="set exactly one of spec.source.backupRequestName and spec.source.manifest"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || has(self.manifest)",message="spec.source.provider names the store of a manifest URL; a backupRequestName restore takes its backup's spec.provider",fieldPath=".provider"
type RestoreSource struct {
	// backupRequestName is a Succeeded BackupRequest in the RestoreRequest's namespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	BackupRequestName string `json:"backupRequestName,omitempty"`

	// manifest is the URL of a backup's manifest, s3://<bucket>/<prefix>/manifest.json,
	// for disaster recovery when the BackupRequest objects are gone. Its checksum and
	// its inventory's sha256 are verified before anything is written.
	// +optional
	// +kubebuilder:validation:MaxLength=1100
	// +kubebuilder:validation:Pattern=`^s3://[a-z0-9][a-z0-9.-]*[a-z0-9]/([^/].*/)?manifest\.json$`
	Manifest string `json:"manifest,omitempty"`

	// provider is the store that holds the manifest: aws, gcp, azure or local. Manifest
	// URLs are written s3://<bucket>/<key> on every store, so the URL does not tell;
	// default aws. Only with manifest: a backupRequestName restore takes its backup's
	// spec.provider.
	// +optional
	Provider CloudProvider `json:"provider,omitempty"`
}

// ConfirmDatabaseOverwriteAnnotation must be set to the name of the connection
// Secret for a RestoreRequest with spec.database.existingData: Overwrite; without it
// the restore is refused.
const ConfirmDatabaseOverwriteAnnotation = "backup.liferay.cloud/confirm-database-overwrite"

// ExistingDataPolicy is what a dump restore does with a target database that already
// holds tables.
// +kubebuilder:validation:Enum=Refuse;Overwrite
type ExistingDataPolicy string

const (
	// ExistingDataRefuse: the target database must hold no table.
	ExistingDataRefuse ExistingDataPolicy = "Refuse"
	// ExistingDataOverwrite: the dump's own tables are dropped where they exist and
	// loaded again; other tables stay. Needs ConfirmDatabaseOverwriteAnnotation.
	ExistingDataOverwrite ExistingDataPolicy = "Overwrite"
)

// DatabaseRestoreSpec restores the backup's database: a snapshot into a new instance
// (targetInstanceId), a dump into the database a Secret names (connectionSecretRef),
// or a dump into a new instance (both: the instance is created empty with the
// Secret's user, password and database, then the dump is loaded into it). Instance
// settings not overridden here are those the backup recorded of the source instance.
// +kubebuilder:validation:XValidation:rule="has(self.targetInstanceId) || has(self.connectionSecretRef)",message="set spec.database.targetInstanceId (restore a snapshot into a new instance), spec.database.connectionSecretRef (load a dump into that database), or both (create a new instance, then load a dump into it)"
// +kubebuilder:validation:XValidation:rule="has(self.targetInstanceId) || !(has(self.instanceClass) || has(self.subnetGroupName) || has(self.securityGroupIds) || has(self.multiAZ) || has(self.publiclyAccessible) || has(self.allocatedStorageGiB))",message="instanceClass, subnetGroupName, securityGroupIds, multiAZ, publiclyAccessible and allocatedStorageGiB set up a new instance (spec.database.targetInstanceId); a dump loaded through spec.database.connectionSecretRef alone goes into an existing database"
// +kubebuilder:validation:XValidation:rule="(has(self.connectionSecretRef) && !has(self.targetInstanceId)) || !has(self.existingData)",message="spec.database.existingData applies to a dump loaded into the existing database of spec.database.connectionSecretRef; a new instance (spec.database.targetInstanceId) is always empty",fieldPath=".existingData"
// +kubebuilder:validation:XValidation:rule="!has(self.allocatedStorageGiB) || has(self.connectionSecretRef)",message="spec.database.allocatedStorageGiB sizes a new instance a dump is loaded into; a snapshot restore takes the recorded size",fieldPath=".allocatedStorageGiB"
// +kubebuilder:validation:XValidation:rule="has(self.connectionSecretRef) || !has(self.authentication)",message="spec.database.authentication is how the dumper logs in to the database spec.database.connectionSecretRef names; a snapshot is restored without a login",fieldPath=".authentication"
// +kubebuilder:validation:XValidation:rule="!has(self.authentication) || self.authentication != 'IAM' || !has(self.targetInstanceId)",message="spec.database.authentication IAM logs in to an existing RDS database; a new instance (spec.database.targetInstanceId) is created with the Secret's master password, which the load uses",fieldPath=".authentication"
type DatabaseRestoreSpec struct {
	// targetInstanceId is the new instance's identifier (RDS rules: 1 to 63 letters,
	// digits or hyphens, starting with a letter, no "--", no trailing hyphen). It must
	// not exist: a restore never replaces an instance. Alone, the backup's snapshot is
	// restored into it; with connectionSecretRef, the instance is created empty and the
	// backup's dump is loaded into it.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z][a-zA-Z0-9-]*$`
	// +kubebuilder:validation:XValidation:rule="!self.contains('--')",message="targetInstanceId must not contain '--'"
	// +kubebuilder:validation:XValidation:rule="!self.endsWith('-')",message="targetInstanceId must not end with a hyphen"
	TargetInstanceID string `json:"targetInstanceId,omitempty"`

	// connectionSecretRef names a Secret in the RestoreRequest's namespace with the
	// target database's host, port, database, user, password (and sslmode, engine),
	// the keys a dump backup's Secret has. The backup's dump is loaded into that
	// database by the dumper (a Job), never by the controller. With targetInstanceId,
	// the Secret gives the new instance's master user, password and initial database
	// (its host and port are not used: the dumper connects to the new instance's
	// endpoint); the controller reads the password only to pass it to the cloud's
	// create call.
	// +optional
	ConnectionSecretRef *SecretReference `json:"connectionSecretRef,omitempty"`

	// existingData is what happens when the Secret's database already holds tables:
	// Refuse (when omitted: the restore fails, nothing is loaded) or Overwrite (the
	// dump's own tables are replaced, other tables stay; needs the annotation
	// backup.liferay.cloud/confirm-database-overwrite: "<Secret name>"). Only with
	// connectionSecretRef.
	// +optional
	ExistingData ExistingDataPolicy `json:"existingData,omitempty"`

	// authentication is how the dumper logs in to the Secret's database: "Password"
	// (the default: the Secret's password) or "IAM" (an RDS IAM auth token, minted by
	// the dumper from its service account's AWS identity right before each connection,
	// signed for the region of the backup's aws store). With IAM the Secret's host must
	// be the RDS instance's endpoint, sslmode defaults to require (disable and allow are
	// refused), and a password in the Secret is ignored. Only with connectionSecretRef.
	// +optional
	Authentication DatabaseAuthentication `json:"authentication,omitempty"`

	// instanceClass overrides the recorded instance class (for example db.t3.medium).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^db\.[a-z0-9]+\.[a-z0-9]+$`
	InstanceClass string `json:"instanceClass,omitempty"`

	// subnetGroupName overrides the recorded DB subnet group.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	SubnetGroupName string `json:"subnetGroupName,omitempty"`

	// securityGroupIds overrides the recorded VPC security groups.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:Pattern=`^sg-[0-9a-f]+$`
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty"`

	// multiAZ overrides the recorded Multi-AZ setting.
	// +optional
	MultiAZ *bool `json:"multiAZ,omitempty"`

	// publiclyAccessible makes the new instance reachable from outside its VPC. It is
	// false unless set, whatever the source was.
	// +optional
	PubliclyAccessible *bool `json:"publiclyAccessible,omitempty"`

	// allocatedStorageGiB is the storage of a new instance a dump is loaded into
	// (targetInstanceId with connectionSecretRef). When omitted: three times the dump's
	// size, at least 20 GiB, and at least what the backup recorded of the source
	// instance.
	// +optional
	// +kubebuilder:validation:Minimum=20
	// +kubebuilder:validation:Maximum=65536
	AllocatedStorageGiB *int32 `json:"allocatedStorageGiB,omitempty"`
}

// ExistingObjectsPolicy is what a document-library restore does with keys already in
// the target prefix.
// +kubebuilder:validation:Enum=Refuse;Skip;Overwrite
type ExistingObjectsPolicy string

const (
	// ExistingObjectsRefuse: the target prefix must be empty.
	ExistingObjectsRefuse ExistingObjectsPolicy = "Refuse"
	// ExistingObjectsSkip: restore only keys absent from the target; nothing present is touched.
	ExistingObjectsSkip ExistingObjectsPolicy = "Skip"
	// ExistingObjectsOverwrite: replace keys that differ; needs ConfirmOverwriteAnnotation.
	ExistingObjectsOverwrite ExistingObjectsPolicy = "Overwrite"
)

// DocumentLibraryRestoreSpec copies the backup's files back under a target prefix,
// each at its original key relative to the backup's source prefix.
type DocumentLibraryRestoreSpec struct {
	// targetBucket receives the files; it must belong to the backup's project.
	// +required
	TargetBucket BucketName `json:"targetBucket"`

	// targetPrefix is the key prefix the files are restored under, ending with '/'
	// (for example "document_library/"); empty restores at the bucket's root.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == '' || self.endsWith('/')",message="targetPrefix must end with '/' (for example \"document_library/\"), or be empty for the bucket's root"
	TargetPrefix ObjectPrefix `json:"targetPrefix,omitempty"`

	// existingObjects is what happens to keys already under the target prefix: Refuse
	// (the prefix must be empty), Skip (restore only absent keys) or Overwrite (needs
	// the annotation backup.liferay.cloud/confirm-overwrite: "<targetBucket>/<targetPrefix>").
	// +optional
	// +kubebuilder:default=Refuse
	ExistingObjects ExistingObjectsPolicy `json:"existingObjects,omitempty"`
}

// TargetKeyPrefix is targetPrefix ending with '/', or "" for the bucket's root.
func (dl *DocumentLibraryRestoreSpec) TargetKeyPrefix() string { return withSlash(dl.TargetPrefix) }

// RestoreIdentity is what the one-shot rule compares between restores: the backup read
// and the targets written. Two restores with the same identity restore the same data
// into the same place.
// +kubebuilder:object:generate=false
type RestoreIdentity struct {
	ProjectID, BackupID                          string
	TargetInstanceID, TargetBucket, TargetPrefix string
}

// DumpTargetPrefix marks, in RestoreIdentity.TargetInstanceID (and the history's
// target_instance_id), a database named by a connection Secret alone instead of an
// instance (a dump loaded into a new instance is identified by the instance).
const DumpTargetPrefix = "secret/"

// Identity is rr's RestoreIdentity; the backup's fields are empty until status.source
// is resolved.
func (rr *RestoreRequest) Identity() RestoreIdentity {
	var id RestoreIdentity
	if src := rr.Status.Source; src != nil {
		id.ProjectID, id.BackupID = src.ProjectID, src.BackupID
	}
	if db := rr.Spec.Database; db != nil {
		id.TargetInstanceID = db.TargetInstanceID
		if db.ConnectionSecretRef != nil && db.TargetInstanceID == "" {
			// Instance identifiers have no '/': the two kinds of target never collide.
			id.TargetInstanceID = DumpTargetPrefix + db.ConnectionSecretRef.Name
		}
	}
	if dl := rr.Spec.DocumentLibrary; dl != nil {
		id.TargetBucket, id.TargetPrefix = string(dl.TargetBucket), dl.TargetKeyPrefix()
	}
	return id
}

// RestoreRequestSpec describes one restore (or verification) of a backup. It cannot be
// changed once created.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable once created; create a new RestoreRequest instead"
// +kubebuilder:validation:XValidation:rule="self.verifyOnly == true || has(self.database) || has(self.documentLibrary)",message="set spec.database and/or spec.documentLibrary, or spec.verifyOnly: true"
// +kubebuilder:validation:XValidation:rule="self.verifyOnly != true || (!has(self.database) && !has(self.documentLibrary))",message="spec.verifyOnly checks the backup without writing anything: remove spec.database and spec.documentLibrary"
type RestoreRequestSpec struct {
	// source is the backup to restore.
	// +required
	Source RestoreSource `json:"source"`

	// database restores the backup's database: its snapshot into a new instance, or
	// its dump into an existing database or a new instance.
	// +optional
	Database *DatabaseRestoreSpec `json:"database,omitempty"`

	// documentLibrary restores the backup's files.
	// +optional
	DocumentLibrary *DocumentLibraryRestoreSpec `json:"documentLibrary,omitempty"`

	// verifyOnly checks the backup without writing anything: the snapshot exists and
	// is available, every inventory object is present with its size and ETag/checksum,
	// and the manifest and inventory checksums verify.
	// +optional
	// +kubebuilder:default=false
	VerifyOnly bool `json:"verifyOnly,omitempty"`
}

// RestorePhase is where a restore is in its life.
// +kubebuilder:validation:Enum=Pending;InProgress;Succeeded;Failed
type RestorePhase string

const (
	// RestorePhasePending: accepted, waiting for a slot of its project.
	RestorePhasePending RestorePhase = "Pending"
	// RestorePhaseInProgress: validating, restoring or verifying.
	RestorePhaseInProgress RestorePhase = "InProgress"
	// RestorePhaseSucceeded: every requested part is restored (or verified).
	RestorePhaseSucceeded RestorePhase = "Succeeded"
	// RestorePhaseFailed: the restore stopped; status.message and Ready say why.
	RestorePhaseFailed RestorePhase = "Failed"
)

// IsTerminal reports whether no more restore work will happen in this phase.
func (p RestorePhase) IsTerminal() bool {
	return p == RestorePhaseSucceeded || p == RestorePhaseFailed
}

// ResolvedBackup is the backup a restore reads, resolved once and never re-resolved.
type ResolvedBackup struct {
	// backupId is the manifest's backupId.
	// +required
	BackupID string `json:"backupId"`
	// backupRequestName is the BackupRequest the backup came from, when it still existed.
	// +optional
	BackupRequestName string `json:"backupRequestName,omitempty"`
	// backupRequestUid is that BackupRequest's UID, as the manifest records it.
	// +optional
	BackupRequestUID string `json:"backupRequestUid,omitempty"`
	// projectId is the backup's project.
	// +required
	ProjectID string `json:"projectId"`
	// environment is the backup's environment.
	// +required
	Environment string `json:"environment"`
	// manifestLocation is the manifest's URL.
	// +required
	ManifestLocation string `json:"manifestLocation"`
	// manifestChecksum is the manifest's verified "sha256:..." checksum.
	// +required
	ManifestChecksum string `json:"manifestChecksum"`
	// snapshotId is the backup's database snapshot, if it has one.
	// +optional
	SnapshotID string `json:"snapshotId,omitempty"`
	// objects is the number of document-library objects the backup holds.
	// +optional
	Objects int64 `json:"objects,omitempty"`
	// resolvedAt is when the source was resolved.
	// +optional
	ResolvedAt *metav1.Time `json:"resolvedAt,omitempty"`
}

// DatabaseRestoreStatus reports the restored instance.
type DatabaseRestoreStatus struct {
	// instanceId is the restored instance's identifier.
	// +optional
	InstanceID string `json:"instanceId,omitempty"`
	// instanceArn is the restored instance's ARN.
	// +optional
	InstanceARN string `json:"instanceArn,omitempty"`
	// endpoint is the instance's address and port once available.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// status is the provider's instance status (for example creating, available).
	// +optional
	Status string `json:"status,omitempty"`
	// created is true once this restore started the instance: only then may cancelling
	// the restore delete it.
	// +optional
	Created bool `json:"created,omitempty"`
	// dump reports the load of a dump into the database of spec.database.connectionSecretRef,
	// or into the new instance of spec.database.targetInstanceId.
	// +optional
	Dump *DumpRestoreStatus `json:"dump,omitempty"`
}

// DumpRestoreStatus reports a dump loaded into a database by the dumper.
type DumpRestoreStatus struct {
	// jobName is the dumper's run (the Job's name, or the process runner's).
	// +optional
	JobName string `json:"jobName,omitempty"`
	// startTime is when the run started; also the run's token in its record.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// completionTime is when the load ended, as its record says.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// source is the dump loaded (s3://bucket/key).
	// +optional
	Source string `json:"source,omitempty"`
	// engine is the target server's engine (postgres, mysql, mariadb).
	// +optional
	Engine string `json:"engine,omitempty"`
	// sizeBytes is the size of the dump read, checked against its record.
	// +optional
	SizeBytes int64 `json:"sizeBytes,omitempty"`
	// tablesChecked is how many tables' row counts, counted after the load, equal the
	// counts the dump recorded.
	// +optional
	TablesChecked int32 `json:"tablesChecked,omitempty"`
	// recordLocation is the dumper's record of the load (restore.json).
	// +optional
	RecordLocation string `json:"recordLocation,omitempty"`
}

// DocumentLibraryRestoreStatus reports the document-library restore; refreshed while copying.
type DocumentLibraryRestoreStatus struct {
	// objectsTotal is the number of objects the backup holds.
	// +optional
	ObjectsTotal int64 `json:"objectsTotal,omitempty"`
	// objectsRestored is the number of objects this restore wrote.
	// +optional
	ObjectsRestored int64 `json:"objectsRestored,omitempty"`
	// objectsSkipped is the number of objects left as they were (already present).
	// +optional
	ObjectsSkipped int64 `json:"objectsSkipped,omitempty"`
	// bytesRestored is the number of bytes this restore wrote.
	// +optional
	BytesRestored int64 `json:"bytesRestored,omitempty"`
	// recordLocation is where the restore records the keys it wrote (its own inventory),
	// so cancelling removes exactly those.
	// +optional
	RecordLocation string `json:"recordLocation,omitempty"`
}

// VerificationStatus reports a check of the backup against its manifest and inventory.
type VerificationStatus struct {
	// objectsChecked is the number of inventory objects checked.
	// +optional
	ObjectsChecked int64 `json:"objectsChecked,omitempty"`
	// objectsMissing is the number of inventory objects absent from the backup.
	// +optional
	ObjectsMissing int64 `json:"objectsMissing,omitempty"`
	// objectsDifferent is the number of objects whose size or ETag/checksum differ.
	// +optional
	ObjectsDifferent int64 `json:"objectsDifferent,omitempty"`
	// problems lists the first problems found, one per line.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Problems []string `json:"problems,omitempty"`
	// dump is the full read of the backup's dump, when it has one.
	// +optional
	Dump *DumpVerificationStatus `json:"dump,omitempty"`
}

// DumpVerificationStatus reports verifyOnly's check of a dump: the dumper re-reads the
// stored object (its size and SHA-256 must be its record's) through a full read
// (pg_restore -f /dev/null, or a full decompress to the dump-completed trailer).
type DumpVerificationStatus struct {
	// jobName is the dumper's run.
	// +optional
	JobName string `json:"jobName,omitempty"`
	// location is the dump checked (s3://bucket/key).
	// +optional
	Location string `json:"location,omitempty"`
	// result is Passed or Failed once the run ended; empty while it runs.
	// +optional
	// +kubebuilder:validation:Enum=Passed;Failed
	Result string `json:"result,omitempty"`
}

// Results of a DumpVerificationStatus.
const (
	DumpVerificationPassed = "Passed"
	DumpVerificationFailed = "Failed"
)

// RestoreRequestStatus is the observed state of a RestoreRequest.
type RestoreRequestStatus struct {
	// phase is where the restore is: Pending, InProgress, Succeeded or Failed.
	// +optional
	Phase RestorePhase `json:"phase,omitempty"`

	// conditions: Ready, SourceVerified, DatabaseRestored, SearchReindexRequired (after a
	// database restore), DocumentLibraryRestored, Verified, Archived.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// archivedPhase is the phase whose archival into the backup history concluded:
	// recorded (condition Archived=True, reason Recorded) or refused for good
	// (Archived=False, reason InvalidRecord). The archiver writes it, in the same
	// status patch as the condition.
	// +optional
	ArchivedPhase RestorePhase `json:"archivedPhase,omitempty"`

	// observedGeneration is the generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// source is the backup this restore reads, resolved once.
	// +optional
	Source *ResolvedBackup `json:"source,omitempty"`

	// validationErrors lists every problem found before anything was written, each
	// naming the spec field.
	// +optional
	// +listType=atomic
	ValidationErrors []string `json:"validationErrors,omitempty"`

	// database reports the restored instance.
	// +optional
	Database *DatabaseRestoreStatus `json:"database,omitempty"`

	// documentLibrary reports the restored files.
	// +optional
	DocumentLibrary *DocumentLibraryRestoreStatus `json:"documentLibrary,omitempty"`

	// verification reports the check of the backup (verifyOnly, or the source check).
	// +optional
	Verification *VerificationStatus `json:"verification,omitempty"`

	// startTime is when the restore left Pending.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// completionTime is when the restore reached Succeeded or Failed.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// message is a human-readable summary of the current state.
	// +optional
	Message string `json:"message,omitempty"`
}

// RestoreRequest asks the controller to restore (or only verify) one backup: its
// snapshot into a new database instance and/or its files under a target prefix.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rr;rrs,categories=backup
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.status.source.projectId`
// +kubebuilder:printcolumn:name="Env",type=string,JSONPath=`.status.source.environment`
// +kubebuilder:printcolumn:name="Backup",type=string,JSONPath=`.status.source.backupId`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Target DB",type=string,JSONPath=`.spec.database.targetInstanceId`,priority=1
// +kubebuilder:printcolumn:name="Objects",type=integer,JSONPath=`.status.documentLibrary.objectsRestored`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RestoreRequest struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the restore.
	// +required
	Spec RestoreRequestSpec `json:"spec"`

	// status is the observed state of the restore.
	// +optional
	Status RestoreRequestStatus `json:"status,omitempty"`
}

// RestoreRequestList is a list of RestoreRequests.
// +kubebuilder:object:root=true
type RestoreRequestList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the RestoreRequests.
	Items []RestoreRequest `json:"items"`
}
