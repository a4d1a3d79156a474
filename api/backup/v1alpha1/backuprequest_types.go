package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProjectLabel is the namespace label naming the project a namespace belongs to.
// A BackupRequest may only back up the project of its own namespace.
const ProjectLabel = "backup.liferay.cloud/project-id"

// DeletionPolicyAnnotation set to "retain" keeps a backup's cloud artefacts when
// its BackupRequest is deleted or expires.
const DeletionPolicyAnnotation = "backup.liferay.cloud/deletion-policy"

// OwnershipTagKey is the default cloud tag naming the project a database instance or
// bucket belongs to. A backup may only read or write resources tagged with its
// spec.projectId (see --resource-ownership and --ownership-tag-key).
const OwnershipTagKey = "backup.liferay.cloud/project-id"

// SharedBackupBucketTag set to "true" on a bucket lets every project write backups
// into it, each under its own "<projectId>/" prefix.
const SharedBackupBucketTag = "backup.liferay.cloud/shared-backup-bucket"

// CloudProvider names the cloud that holds the project's database and files.
// +kubebuilder:validation:Enum=aws;gcp;azure;local
type CloudProvider string

const (
	ProviderAWS   CloudProvider = "aws"
	ProviderGCP   CloudProvider = "gcp"
	ProviderAzure CloudProvider = "azure"
	// ProviderLocal is an S3-compatible store of its own (versitygw, MinIO, Ceph RGW)
	// without a managed database service: self-hosted Liferay.
	ProviderLocal CloudProvider = "local"
)

// DatabaseBackupType is how the database is backed up.
// +kubebuilder:validation:Enum=snapshot;dump
type DatabaseBackupType string

const (
	// DatabaseBackupSnapshot takes a storage-level snapshot of the database instance (RDS snapshot).
	DatabaseBackupSnapshot DatabaseBackupType = "snapshot"
	// DatabaseBackupDump takes a logical dump (pg_dump, mariadb-dump) in a Job and
	// stores it with the backup, verified: it restores anywhere (spec.database.dump).
	DatabaseBackupDump DatabaseBackupType = "dump"
)

// DumpSource is what a dump reads.
// +kubebuilder:validation:Enum=Snapshot;Instance
type DumpSource string

const (
	// DumpSourceSnapshot dumps a throw-away instance restored from the snapshot this
	// backup took: as consistent as the snapshot, and no load on production.
	DumpSourceSnapshot DumpSource = "Snapshot"
	// DumpSourceInstance dumps the named instance, or the server of connectionSecretRef,
	// directly.
	DumpSourceInstance DumpSource = "Instance"
)

// DatabaseAuthentication is how the dumper logs in to the database.
// +kubebuilder:validation:Enum=Password;IAM
type DatabaseAuthentication string

const (
	// DatabaseAuthPassword logs in with the connection Secret's password.
	DatabaseAuthPassword DatabaseAuthentication = "Password"
	// DatabaseAuthIAM logs in with an RDS IAM auth token the dumper mints from its own
	// AWS identity right before each connection: no password is stored anywhere.
	DatabaseAuthIAM DatabaseAuthentication = "IAM"
)

// SecretReference names a Secret in the namespace of the object that refers to it.
type SecretReference struct {
	// name is the Secret's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// DatabaseDumpSpec configures a logical dump.
type DatabaseDumpSpec struct {
	// source is what the dump reads: "Snapshot" (a throw-away instance restored from
	// this backup's snapshot; needs instanceId) or "Instance" (the instance, or the
	// server of connectionSecretRef, directly). Omitted: Snapshot when instanceId is
	// set, Instance otherwise.
	// +optional
	Source DumpSource `json:"source,omitempty"`

	// connectionSecretRef names a Secret in this namespace with the keys host, port,
	// database, user and password (and optionally sslmode and engine: postgres, mysql,
	// mariadb) of the database to dump. With source Snapshot, host and port are the
	// throw-away instance's, and the Secret gives the database and credentials. The
	// values never appear in the spec, the Job's arguments, logs, events or status.
	// +optional
	ConnectionSecretRef *SecretReference `json:"connectionSecretRef,omitempty"`

	// authentication is how the dumper logs in: "Password" (the default: the Secret's
	// password) or "IAM" (an RDS IAM auth token, minted by the dumper from its service
	// account's AWS identity right before each connection; needs instanceId on
	// provider aws). With IAM the Secret still gives host, database and user, and may
	// give sslmode (default require; disable and allow are refused, as RDS takes a
	// token only over TLS); a password in it is ignored.
	// +optional
	Authentication DatabaseAuthentication `json:"authentication,omitempty"`

	// keepSnapshot keeps the snapshot a Snapshot-source dump was taken from; false
	// deletes it once the dump is verified, so the backup holds no snapshot quota.
	// +optional
	// +kubebuilder:default=true
	KeepSnapshot *bool `json:"keepSnapshot,omitempty"`
}

// BucketName is an object-storage bucket name following the S3 naming rules:
// 3 to 63 lowercase letters, digits, dots or hyphens, starting and ending with a
// letter or digit, no "..", not an IP address, no reserved prefix or suffix.
// +kubebuilder:validation:MinLength=3
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`
// +kubebuilder:validation:XValidation:rule="!self.contains('..')",message="bucket name must not contain '..'"
// +kubebuilder:validation:XValidation:rule="!self.matches('^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$')",message="bucket name must not be formatted as an IP address"
// +kubebuilder:validation:XValidation:rule="!self.startsWith('xn--') && !self.startsWith('sthree-')",message="bucket name must not start with 'xn--' or 'sthree-'"
// +kubebuilder:validation:XValidation:rule="!self.endsWith('-s3alias') && !self.endsWith('--ol-s3')",message="bucket name must not end with '-s3alias' or '--ol-s3'"
type BucketName string

// ObjectPrefix is a key prefix inside a bucket: relative (no leading '/') and
// without '..' path segments, so a backup can never escape its directory.
// +kubebuilder:validation:MaxLength=1024
// +kubebuilder:validation:XValidation:rule="!self.startsWith('/')",message="prefix must not start with '/'"
// +kubebuilder:validation:XValidation:rule="!self.matches('(^|/)[.][.](/|$)')",message="prefix must not contain a '..' segment"
type ObjectPrefix string

// DatabaseBackupSpec selects the database to back up.
// +kubebuilder:validation:XValidation:rule="has(self.instanceId) || (has(self.type) && self.type == 'dump' && has(self.dump) && has(self.dump.connectionSecretRef))",message="instanceId is required, unless type is dump and dump.connectionSecretRef names the database",fieldPath=".instanceId"
// +kubebuilder:validation:XValidation:rule="!has(self.dump) || (has(self.type) && self.type == 'dump')",message="dump is only allowed with type: dump",fieldPath=".dump"
// +kubebuilder:validation:XValidation:rule="!has(self.dump) || !has(self.dump.source) || self.dump.source != 'Snapshot' || has(self.instanceId)",message="source Snapshot needs instanceId: the dump restores that instance's snapshot",fieldPath=".dump.source"
// +kubebuilder:validation:XValidation:rule="!has(self.dump) || !has(self.dump.authentication) || self.dump.authentication != 'IAM' || has(self.instanceId)",message="dump.authentication IAM needs instanceId: an RDS IAM token logs in to an RDS instance",fieldPath=".dump.authentication"
type DatabaseBackupSpec struct {
	// type is how the database is backed up: "snapshot" (an RDS snapshot) or "dump"
	// (a logical dump stored with the backup; see dump).
	// +optional
	// +kubebuilder:default=snapshot
	Type DatabaseBackupType `json:"type,omitempty"`

	// instanceId is the database instance identifier (RDS rules: 1 to 63 letters,
	// digits or hyphens, starting with a letter, no "--", no trailing hyphen). It may be
	// omitted only for a dump of the database named by dump.connectionSecretRef.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z][a-zA-Z0-9-]*$`
	// +kubebuilder:validation:XValidation:rule="!self.contains('--')",message="instanceId must not contain '--'"
	// +kubebuilder:validation:XValidation:rule="!self.endsWith('-')",message="instanceId must not end with a hyphen"
	InstanceID string `json:"instanceId,omitempty"`

	// dump configures a dump (type: dump).
	// +optional
	Dump *DatabaseDumpSpec `json:"dump,omitempty"`
}

// DumpSourceOrDefault is the dump's source, defaulted: Snapshot when an instance is
// named, Instance for a database named only by a connection Secret.
func (d *DatabaseBackupSpec) DumpSourceOrDefault() DumpSource {
	if d.Dump != nil && d.Dump.Source != "" {
		return d.Dump.Source
	}
	if d.InstanceID != "" {
		return DumpSourceSnapshot
	}
	return DumpSourceInstance
}

// TakesSnapshot reports whether the backup takes a snapshot of the instance: always
// for type snapshot, and for a dump whose source is the snapshot.
func (d *DatabaseBackupSpec) TakesSnapshot() bool {
	return d.Type != DatabaseBackupDump || d.DumpSourceOrDefault() == DumpSourceSnapshot
}

// DocumentLibraryMode is how a backup stores the document library.
// +kubebuilder:validation:Enum=Full;Incremental
type DocumentLibraryMode string

const (
	// ModeFull copies every file under the backup's own destination prefix.
	ModeFull DocumentLibraryMode = "Full"
	// ModeIncremental stores each file version once in the project environment's
	// repository and copies only what it lacks.
	ModeIncremental DocumentLibraryMode = "Incremental"
)

// CopyConsistency says which moment a backup's files show.
// +kubebuilder:validation:Enum=PointInTime;Live
type CopyConsistency string

const (
	// ConsistencyPointInTime: the source bucket is versioned and every file is the
	// version that was current at status.documentLibrary.pointInTime.
	ConsistencyPointInTime CopyConsistency = "PointInTime"
	// ConsistencyLive: the source bucket is not versioned, so the copy read the files
	// as they were while it ran; a file changed or deleted during the backup may
	// differ from what the database snapshot references.
	ConsistencyLive CopyConsistency = "Live"
)

// DocumentLibraryBackupSpec selects the document-library files to back up and where to put them.
// +kubebuilder:validation:XValidation:rule="self.sourceBucket != self.destinationBucket || (has(self.sourcePrefix) && size(self.sourcePrefix) > 0 && !self.destinationPrefix.startsWith(self.sourcePrefix) && !self.sourcePrefix.startsWith(self.destinationPrefix))",message="destinationPrefix must not overlap sourcePrefix in the same bucket: the backup would write into the document library it copies",fieldPath=".destinationPrefix"
type DocumentLibraryBackupSpec struct {
	// sourceBucket is the bucket holding the Liferay document library.
	// +required
	SourceBucket BucketName `json:"sourceBucket"`

	// sourcePrefix is the key prefix of the document library inside sourceBucket. It
	// ends with '/' (so "document_library/" never also selects "document_library_old/");
	// empty selects the whole bucket.
	// +optional
	// +kubebuilder:default="document_library/"
	// +kubebuilder:validation:XValidation:rule="self == '' || self.endsWith('/')",message="sourcePrefix must end with '/' (for example \"document_library/\"), or be empty for the whole bucket"
	SourcePrefix ObjectPrefix `json:"sourcePrefix,omitempty"`

	// destinationBucket is the bucket the backup is written to.
	// +required
	DestinationBucket BucketName `json:"destinationBucket"`

	// destinationPrefix is the key prefix of this backup inside destinationBucket, for
	// example "retail/prd/20251109/". It begins with "<projectId>/" and ends with '/'.
	// It must be empty when the backup starts: no two backups share a destination, and
	// none lies inside another (docs/backup-layout.md).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="self.endsWith('/')",message="destinationPrefix must end with '/' (for example \"retail/prd/20251109/\")"
	DestinationPrefix ObjectPrefix `json:"destinationPrefix"`

	// mode is how the files are stored. Full (the default) copies every file under the
	// backup's own destinationPrefix. Incremental stores each file version once in the
	// project environment's repository, <projectId>/.repository/<environment>/ in
	// destinationBucket, copies only the files the repository lacks, and records in
	// the backup's inventory which stored object holds each file (docs/incremental.md).
	// +optional
	// +kubebuilder:default=Full
	Mode DocumentLibraryMode `json:"mode,omitempty"`

	// excludeGeneratedFiles skips files Liferay regenerates on demand (thumbnails,
	// previews, adaptive-media renditions); see docs/aws-provider.md for the exact paths.
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

// BackupRequestSpec describes one backup of a project environment. It cannot be
// changed once created: make a new BackupRequest for a new backup.
// +kubebuilder:validation:XValidation:rule="has(self.database) || has(self.documentLibrary)",message="at least one of spec.database and spec.documentLibrary must be set"
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable once created; create a new BackupRequest instead"
// +kubebuilder:validation:XValidation:rule="!has(self.documentLibrary) || self.documentLibrary.destinationPrefix.startsWith(self.projectId + '/')",message="spec.documentLibrary.destinationPrefix must begin with \"<projectId>/\": a project writes backups only under its own prefix",fieldPath=".documentLibrary.destinationPrefix"
// +kubebuilder:validation:XValidation:rule="!has(self.documentLibrary) || !self.documentLibrary.destinationPrefix.startsWith(self.projectId + '/.')",message="spec.documentLibrary.destinationPrefix must not begin with \"<projectId>/.\": those prefixes are the controller's (.repository/, .restores/)",fieldPath=".documentLibrary.destinationPrefix"
// +kubebuilder:validation:XValidation:rule="!has(self.database) || !has(self.provider) || self.provider == 'aws' || !has(self.database.instanceId)",message="spec.database.instanceId names an RDS instance, which only provider aws has: on gcp, azure and local name the database with spec.database.dump.connectionSecretRef",fieldPath=".database.instanceId"
// +kubebuilder:validation:XValidation:rule="!has(self.database) || !has(self.database.dump) || !has(self.database.dump.authentication) || self.database.dump.authentication != 'IAM' || !has(self.provider) || self.provider == 'aws'",message="spec.database.dump.authentication IAM mints an RDS IAM token, which only provider aws has: on gcp, azure and local use Password",fieldPath=".database.dump.authentication"
// +kubebuilder:validation:XValidation:rule="!has(self.database) || !has(self.provider) || self.provider == 'aws' || (has(self.database.type) && self.database.type == 'dump')",message="spec.database.type snapshot takes an RDS snapshot, which only provider aws has: on gcp, azure and local set spec.database.type: dump",fieldPath=".database.type"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || self.provider != 'azure' || !has(self.documentLibrary) || self.documentLibrary.sourceBucket.matches('^[a-z0-9](-?[a-z0-9])*$')",message="spec.documentLibrary.sourceBucket names an Azure container on provider azure: lowercase letters, digits and single hyphens, no dots",fieldPath=".documentLibrary.sourceBucket"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || self.provider != 'azure' || !has(self.documentLibrary) || self.documentLibrary.destinationBucket.matches('^[a-z0-9](-?[a-z0-9])*$')",message="spec.documentLibrary.destinationBucket names an Azure container on provider azure: lowercase letters, digits and single hyphens, no dots",fieldPath=".documentLibrary.destinationBucket"
type BackupRequestSpec struct {
	// projectId is the Liferay Cloud project, a lowercase DNS label. It must equal the
	// backup.liferay.cloud/project-id label of the BackupRequest's namespace.
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
	DocumentLibrary *DocumentLibraryBackupSpec `json:"documentLibrary,omitempty"`

	// retentionDays is how long the backup is kept after it succeeds (7 to 365).
	// When omitted the controller's default applies (BACKUP_RETENTION_DAYS, 30 unless changed).
	// +optional
	// +kubebuilder:validation:Minimum=7
	// +kubebuilder:validation:Maximum=365
	RetentionDays *int32 `json:"retentionDays,omitempty"`
}

// BackupPhase is where a backup is in its life.
// +kubebuilder:validation:Enum=Pending;InProgress;Succeeded;Failed;Expired
type BackupPhase string

const (
	// PhasePending: accepted, waiting for a slot of its project (Ready reason
	// WaitingForSlot), or for an account quota (reason WaitingForQuota).
	PhasePending BackupPhase = "Pending"
	// PhaseInProgress: snapshot, copy and manifest steps are running.
	PhaseInProgress BackupPhase = "InProgress"
	// PhaseSucceeded: every requested part is backed up and the manifest is written.
	PhaseSucceeded BackupPhase = "Succeeded"
	// PhaseFailed: the backup stopped; status.message and the Ready condition say why.
	PhaseFailed BackupPhase = "Failed"
	// PhaseExpired: retention removed the backup's artefacts; the object stays as a record.
	PhaseExpired BackupPhase = "Expired"
)

// IAMAuthentication reports whether the dump logs in with an RDS IAM token.
func (d *DatabaseDumpSpec) IAMAuthentication() bool {
	return d != nil && d.Authentication == DatabaseAuthIAM
}

// IsTerminal reports whether no more backup work will happen in this phase.
func (p BackupPhase) IsTerminal() bool {
	return p == PhaseSucceeded || p == PhaseFailed || p == PhaseExpired
}

// DatabaseBackupStatus reports the database snapshot.
type DatabaseBackupStatus struct {
	// snapshotId is the provider's snapshot identifier.
	// +optional
	SnapshotID string `json:"snapshotId,omitempty"`
	// snapshotArn is the snapshot's ARN.
	// +optional
	SnapshotARN string `json:"snapshotArn,omitempty"`
	// status is the provider's snapshot status (for example creating, available).
	// +optional
	Status string `json:"status,omitempty"`
	// percentProgress is the snapshot's progress reported by the provider.
	// +optional
	PercentProgress int32 `json:"percentProgress,omitempty"`
	// sizeBytes is the snapshot's allocated storage in bytes.
	// +optional
	SizeBytes int64 `json:"sizeBytes,omitempty"`
	// engine is the database engine (for example postgres, mysql).
	// +optional
	Engine string `json:"engine,omitempty"`
	// engineVersion is the database engine version.
	// +optional
	EngineVersion string `json:"engineVersion,omitempty"`
	// sourceInstance records the source instance's settings when the snapshot was
	// started, so a restore recreates it as it was (the manifest carries them too).
	// +optional
	SourceInstance *DatabaseInstanceSettings `json:"sourceInstance,omitempty"`
	// snapshotDeleted is true once keepSnapshot: false deleted the snapshot a dump was
	// taken from (after the dump was verified): the backup then holds no snapshot.
	// +optional
	SnapshotDeleted bool `json:"snapshotDeleted,omitempty"`
	// dump reports the logical dump (type: dump).
	// +optional
	Dump *DatabaseDumpStatus `json:"dump,omitempty"`
	// dumpInstance is the throw-away instance a Snapshot-source dump reads: restored
	// from this backup's snapshot, owned and tagged by this backup, deleted once the
	// dump ended (either way).
	// +optional
	DumpInstance *DumpInstanceStatus `json:"dumpInstance,omitempty"`
}

// DumpInstanceStatus is a throw-away instance restored from a backup's snapshot for
// its dump.
type DumpInstanceStatus struct {
	// instanceId is the instance's identifier (lc2-dump-<backup uid>).
	// +optional
	InstanceID string `json:"instanceId,omitempty"`
	// endpoint is the address the dumper reads it at, once available.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// status is the provider's instance status (for example creating, available).
	// +optional
	Status string `json:"status,omitempty"`
	// created is true once the restore of the snapshot into it was started: from then
	// on every ending of the backup deletes it.
	// +optional
	Created bool `json:"created,omitempty"`
	// deleted is true once it was deleted (or found gone).
	// +optional
	Deleted bool `json:"deleted,omitempty"`
}

// Pending reports whether the instance was started and not yet deleted.
func (d *DumpInstanceStatus) Pending() bool { return d != nil && d.Created && !d.Deleted }

// DatabaseDumpStatus reports a dump.
type DatabaseDumpStatus struct {
	// jobName is the Job (or, with the process runner, the child process) that runs the dump.
	// +optional
	JobName string `json:"jobName,omitempty"`
	// location is the dump object, for example s3://bucket/prefix/database/dump.pgdump.
	// +optional
	Location string `json:"location,omitempty"`
	// sizeBytes is the dump object's size, checked against the stored object.
	// +optional
	SizeBytes int64 `json:"sizeBytes,omitempty"`
	// sha256 is the dump object's SHA-256, checked against the stored object.
	// +optional
	SHA256 string `json:"sha256,omitempty"`
	// engine is the dumped server's engine: postgres, mysql or mariadb.
	// +optional
	Engine string `json:"engine,omitempty"`
	// serverVersion is the version the dumped server reported.
	// +optional
	ServerVersion string `json:"serverVersion,omitempty"`
	// tool is the dump program and its version, for example "pg_dump 15.18".
	// +optional
	Tool string `json:"tool,omitempty"`
	// startTime is when the dump began.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// completionTime is when the dump ended, its verification included.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
}

// DatabaseInstanceSettings are the settings of a database instance a restore needs to
// recreate it: RestoreDBInstanceFromDBSnapshot otherwise falls back to the default
// security group and parameter group, single-AZ.
type DatabaseInstanceSettings struct {
	// instanceClass is the instance class, for example db.t3.medium.
	// +optional
	InstanceClass string `json:"instanceClass,omitempty"`
	// storageType is the storage type, for example gp3.
	// +optional
	StorageType string `json:"storageType,omitempty"`
	// allocatedStorageGiB is the allocated storage in GiB.
	// +optional
	AllocatedStorageGiB int32 `json:"allocatedStorageGiB,omitempty"`
	// iops is the provisioned IOPS, when the storage type has them.
	// +optional
	Iops int32 `json:"iops,omitempty"`
	// parameterGroup is the DB parameter group.
	// +optional
	ParameterGroup string `json:"parameterGroup,omitempty"`
	// optionGroup is the option group.
	// +optional
	OptionGroup string `json:"optionGroup,omitempty"`
	// subnetGroup is the DB subnet group.
	// +optional
	SubnetGroup string `json:"subnetGroup,omitempty"`
	// securityGroupIds are the VPC security groups.
	// +optional
	// +listType=atomic
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty"`
	// port is the port the instance listens on.
	// +optional
	Port int32 `json:"port,omitempty"`
	// multiAZ is whether the instance is Multi-AZ.
	// +optional
	MultiAZ bool `json:"multiAZ,omitempty"`
	// publiclyAccessible is whether the instance was reachable from outside its VPC.
	// +optional
	PubliclyAccessible bool `json:"publiclyAccessible,omitempty"`
	// tags are the instance's tags.
	// +optional
	Tags map[string]string `json:"tags,omitempty"`
}

// DocumentLibraryBackupStatus reports the document-library copy; refreshed every few seconds while copying.
type DocumentLibraryBackupStatus struct {
	// objectsTotal is the number of objects the backup holds: while copying, those
	// selected so far; once copied, exactly the objects listed in its inventory.
	// +optional
	ObjectsTotal int64 `json:"objectsTotal,omitempty"`
	// objectsCopied is the number of objects copied.
	// +optional
	ObjectsCopied int64 `json:"objectsCopied,omitempty"`
	// objectsSkipped is the number of objects already present at the destination (a resumed copy).
	// +optional
	ObjectsSkipped int64 `json:"objectsSkipped,omitempty"`
	// objectsExcluded is the number of objects left out by the exclusion rules.
	// +optional
	ObjectsExcluded int64 `json:"objectsExcluded,omitempty"`
	// bytesCopied is the number of bytes copied.
	// +optional
	BytesCopied int64 `json:"bytesCopied,omitempty"`
	// totalSizeBytes is the size of all objects the backup holds.
	// +optional
	TotalSizeBytes int64 `json:"totalSizeBytes,omitempty"`
	// mode is how the files are stored: Full or Incremental (spec.documentLibrary.mode).
	// +optional
	Mode DocumentLibraryMode `json:"mode,omitempty"`
	// objectsReferenced is the number of objects an Incremental backup found already
	// stored in its repository and references without copying them.
	// +optional
	ObjectsReferenced int64 `json:"objectsReferenced,omitempty"`
	// bytesReferenced is the size of the objects referenced without a copy.
	// +optional
	BytesReferenced int64 `json:"bytesReferenced,omitempty"`
	// repository is the repository an Incremental backup stores its objects in
	// (s3://<destinationBucket>/<projectId>/.repository/<environment>/).
	// +optional
	Repository string `json:"repository,omitempty"`
	// consistency says which moment the files show: PointInTime when the source bucket
	// is versioned (each file as it was at pointInTime), Live when it is not (files as
	// they were while the copy ran; not point-in-time).
	// +optional
	Consistency CopyConsistency `json:"consistency,omitempty"`
	// pointInTime is the moment the copied file versions were current: the database
	// snapshot's creation time, or the copy's start for a files-only backup.
	// +optional
	PointInTime *metav1.Time `json:"pointInTime,omitempty"`
	// inventoryRun names the copy run whose inventory lists every object of the backup
	// (inventory/<inventoryRun>-NNNNN.jsonl.gz under the destination prefix).
	// +optional
	InventoryRun string `json:"inventoryRun,omitempty"`
	// resumeTokens are, while the copy runs, the store's tokens for resuming the
	// objects whose copy takes several calls (Cloud Storage's rewrite of a large
	// object, or across locations or storage classes): a controller restarted
	// mid-copy resumes those rewrites instead of starting them over. At most one per
	// object in flight; cleared when the copy ends.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1024
	ResumeTokens []CopyResumeToken `json:"resumeTokens,omitempty"`
}

// CopyResumeToken is a store's token for resuming the copy of one object.
type CopyResumeToken struct {
	// key is the object's destination key.
	// +required
	Key string `json:"key"`
	// token is the store's opaque resume token (Cloud Storage's rewriteToken).
	// +required
	Token string `json:"token"`
}

// ClaimStatus records the destination a backup claimed before writing its first
// object. Retention and the cleanup finalizer delete objects only under a claimed
// destination, and only those the backup's inventory lists plus its own files.
type ClaimStatus struct {
	// bucket is the claimed bucket.
	// +required
	Bucket string `json:"bucket"`
	// prefix is the claimed key prefix, ending with '/'.
	// +required
	Prefix string `json:"prefix"`
	// claimedAt is when the claim record was written.
	// +optional
	ClaimedAt *metav1.Time `json:"claimedAt,omitempty"`
}

// ManifestStatus locates the backup's manifest.
type ManifestStatus struct {
	// location is the manifest's URL, for example s3://liferay-backups/retail/prd/20251109/manifest.json.
	// +optional
	Location string `json:"location,omitempty"`
	// checksum is the manifest's "sha256:..." checksum.
	// +optional
	Checksum string `json:"checksum,omitempty"`
}

// BackupRequestStatus is the observed state of a BackupRequest.
type BackupRequestStatus struct {
	// phase is where the backup is: Pending, InProgress, Succeeded, Failed or Expired.
	// +optional
	Phase BackupPhase `json:"phase,omitempty"`

	// conditions: Ready, DatabaseSnapshotReady, DocumentLibraryCopied, ManifestWritten, Archived.
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
	ArchivedPhase BackupPhase `json:"archivedPhase,omitempty"`

	// observedGeneration is the generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// startTime is when the backup first left Pending (a backup resumed after a quota
	// wait keeps it; the backup deadline counts from it).
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// completionTime is when the backup reached Succeeded or Failed.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// expiresAt is when retention removes the backup (completionTime + retentionDays).
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// message is a human-readable summary of the current state.
	// +optional
	Message string `json:"message,omitempty"`

	// database reports the database snapshot.
	// +optional
	Database *DatabaseBackupStatus `json:"database,omitempty"`

	// documentLibrary reports the document-library copy.
	// +optional
	DocumentLibrary *DocumentLibraryBackupStatus `json:"documentLibrary,omitempty"`

	// claim is the destination this backup claimed; absent when it never wrote an object.
	// +optional
	Claim *ClaimStatus `json:"claim,omitempty"`

	// manifest locates the backup's manifest.
	// +optional
	Manifest *ManifestStatus `json:"manifest,omitempty"`

	// size is the human-readable size of the backup (snapshot plus copied files).
	// +optional
	Size string `json:"size,omitempty"`

	// quotaWait is the backup's latest wait because the cloud refused a call for an
	// account quota (Ready reason WaitingForQuota while it lasts). It is the wait's
	// whole state, so a restarted controller goes on with the same backoff, and stays
	// once the wait ended (endTime) as its record.
	// +optional
	QuotaWait *QuotaWaitStatus `json:"quotaWait,omitempty"`
}

// QuotaWaitStatus is a backup's wait for an account quota.
type QuotaWaitStatus struct {
	// quota names the quota the cloud refused the backup for: snapshot (the account's
	// manual database snapshots), instance (database instances), storage, or other.
	// +required
	Quota string `json:"quota"`
	// since is the first refusal of this wait.
	// +required
	Since metav1.Time `json:"since"`
	// retryAt is when the backup tries again; until then it does not queue for a slot.
	// +required
	RetryAt metav1.Time `json:"retryAt"`
	// attempts is how many times the cloud refused the backup for the quota.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// endTime is when the refused call went through: the wait is over.
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty"`
}

// BackupRequest asks the controller for one backup of a Liferay project environment:
// a database snapshot and/or a copy of its document library, with a manifest.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=br;brs,categories=backup
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.spec.projectId`
// +kubebuilder:printcolumn:name="Env",type=string,JSONPath=`.spec.environment`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Snapshot",type=string,JSONPath=`.status.database.snapshotId`,priority=1
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.status.documentLibrary.mode`,priority=1
// +kubebuilder:printcolumn:name="Objects",type=integer,JSONPath=`.status.documentLibrary.objectsTotal`,priority=1
// +kubebuilder:printcolumn:name="Copied",type=integer,JSONPath=`.status.documentLibrary.objectsCopied`,priority=1
// +kubebuilder:printcolumn:name="Referenced",type=integer,JSONPath=`.status.documentLibrary.objectsReferenced`,priority=1
// +kubebuilder:printcolumn:name="Size",type=string,JSONPath=`.status.size`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BackupRequest struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the backup to take.
	// +required
	Spec BackupRequestSpec `json:"spec"`

	// status is the observed state of the backup.
	// +optional
	Status BackupRequestStatus `json:"status,omitempty"`
}

// BackupRequestList is a list of BackupRequests.
// +kubebuilder:object:root=true
type BackupRequestList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the BackupRequests.
	Items []BackupRequest `json:"items"`
}

// withSlash is p with a trailing '/', or "" for an empty p.
func withSlash(p ObjectPrefix) string {
	if p == "" || p[len(p)-1] == '/' {
		return string(p)
	}
	return string(p) + "/"
}

// SourceKeyPrefix is sourcePrefix as every key comparison uses it: ending with '/',
// or empty for the whole bucket. The schema refuses a prefix without the '/'; this is
// the one place objects stored before that rule are normalised too.
func (dl *DocumentLibraryBackupSpec) SourceKeyPrefix() string { return withSlash(dl.SourcePrefix) }

// Incremental reports whether the backup stores its files in the repository.
func (dl *DocumentLibraryBackupSpec) Incremental() bool { return dl.Mode == ModeIncremental }

// DestinationKeyPrefix is destinationPrefix ending with '/' (see SourceKeyPrefix).
func (dl *DocumentLibraryBackupSpec) DestinationKeyPrefix() string {
	return withSlash(dl.DestinationPrefix)
}
