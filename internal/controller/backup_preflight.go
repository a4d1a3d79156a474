package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/artifact"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// preflight runs the checks that need neither a slot nor the cloud: a request for
// another project's data fails before anything is called in the cloud. The checks
// that read the cloud (ownership tags, the destination) are the claim step's, the
// first step once the request has a slot (reconcileClaim).
func (r *BackupRequestReconciler) preflight(ctx context.Context, br *backupv1alpha1.BackupRequest) error {
	if err := r.checkTenant(ctx, br); err != nil {
		return err
	}
	if dl := br.Spec.DocumentLibrary; dl != nil && !strings.HasPrefix(dl.DestinationKeyPrefix(), br.Spec.ProjectID+"/") {
		// The schema refuses this; objects stored before that rule are refused here.
		return &failure{backupv1alpha1.ReasonInvalidInput, fmt.Sprintf(
			"spec.documentLibrary.destinationPrefix %q must begin with %q: a project writes backups only under its own prefix",
			dl.DestinationPrefix, br.Spec.ProjectID+"/")}
	}
	if err := r.checkDocumentLibrary(br); err != nil {
		return err
	}
	prov, err := r.Providers.Get(string(br.Spec.Provider))
	if err != nil {
		return &failure{backupv1alpha1.ReasonProviderNotSupported, fmt.Sprintf(
			"spec.provider %q is not served by this controller (%s); an administrator adds it to --providers (PROVIDERS) with its settings",
			br.Spec.Provider, provider.Describe(err))}
	}
	if err := checkStoreCapabilities(br.Spec.Provider, br.Spec.Database, prov); err != nil {
		return err
	}
	return r.checkDump(ctx, br)
}

// checkStoreCapabilities refuses a database spec the store cannot serve. The schema
// refuses these for the providers it knows; a store configured without a database
// service (or an older object) is refused here, before the slot.
func checkStoreCapabilities(name backupv1alpha1.CloudProvider, db *backupv1alpha1.DatabaseBackupSpec, prov provider.Provider) error {
	if db == nil {
		return nil
	}
	if !provider.CapabilitiesOf(prov).DatabaseSnapshots {
		switch {
		case db.InstanceID != "":
			return &failure{backupv1alpha1.ReasonInvalidInput, fmt.Sprintf(
				"spec.database.instanceId %q names a managed database instance, which provider %s does not have: name the database with spec.database.dump.connectionSecretRef",
				db.InstanceID, name)}
		case db.Type != backupv1alpha1.DatabaseBackupDump:
			return &failure{backupv1alpha1.ReasonInvalidInput, fmt.Sprintf(
				"spec.database.type %q needs a managed database service, which provider %s does not have: set spec.database.type: dump", db.Type, name)}
		case db.TakesSnapshot():
			return &failure{backupv1alpha1.ReasonInvalidInput, fmt.Sprintf(
				"spec.database.dump.source Snapshot dumps a throw-away instance restored from a snapshot, which provider %s does not have: set source: Instance", name)}
		}
	}
	if db.Type == backupv1alpha1.DatabaseBackupDump && name == backupv1alpha1.ProviderGCP {
		return &failure{backupv1alpha1.ReasonProviderNotSupported,
			"spec.database.type: dump on provider gcp: the dumper cannot store dumps in Cloud Storage yet (docs/dumps.md); back up the document library here and the database separately"}
	}
	return nil
}

// checkDocumentLibrary refuses, from the spec alone, what the copy would refuse after
// the claim: a malformed exclude pattern, and a source sharing keys with a place the
// backup writes to: its destination (claim, inventory, files, manifest) or, for an
// Incremental backup, its repository. The copy would list its own output and the
// claim would land in the live library, so this is decided from the spec, before the
// claim. The schema refuses the destination case too; objects stored before that rule
// are refused here. The providers' copy refuses it again (provider.LocationsOverlap).
func (r *BackupRequestReconciler) checkDocumentLibrary(br *backupv1alpha1.BackupRequest) error {
	dl := br.Spec.DocumentLibrary
	if dl == nil {
		return nil
	}
	source, from := string(dl.SourceBucket), dl.SourceKeyPrefix()
	if provider.LocationsOverlap(source, from, string(dl.DestinationBucket), dl.DestinationKeyPrefix()) {
		return &failure{backupv1alpha1.ReasonInvalidInput, fmt.Sprintf(
			"spec.documentLibrary.destinationPrefix %q overlaps spec.documentLibrary.sourcePrefix %q in bucket %s: the backup would write into the document library it copies; choose a destination outside s3://%s/%s",
			dl.DestinationPrefix, dl.SourcePrefix, source, source, from)}
	}
	if err := r.strategyFor(br).checkSpec(); err != nil {
		return err
	}
	if _, err := provider.NewExcluder(dl.ExcludePatterns, dl.ExcludeGeneratedFiles); err != nil {
		// Compiled again by the copy, after the claim: a malformed pattern must fail here.
		return &failure{backupv1alpha1.ReasonInvalidInput, "spec.documentLibrary.excludePatterns: " + provider.Describe(err)}
	}
	return nil
}

// checkTenant enforces that a namespace backs up only its own project.
func (r *BackupRequestReconciler) checkTenant(ctx context.Context, br *backupv1alpha1.BackupRequest) error {
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, client.ObjectKey{Name: br.Namespace}, ns); err != nil {
		return fmt.Errorf("get namespace %s: %w", br.Namespace, err)
	}
	key := r.Options.ProjectLabelKey
	label, ok := ns.Labels[key]
	switch {
	case !ok:
		return &failure{backupv1alpha1.ReasonProjectMismatch, fmt.Sprintf(
			"namespace %s has no %s label; a cluster administrator must label it with its project before it can take backups", br.Namespace, key)}
	case label != br.Spec.ProjectID:
		return &failure{backupv1alpha1.ReasonProjectMismatch, fmt.Sprintf(
			"spec.projectId %q does not match namespace %s, which belongs to project %q (label %s)", br.Spec.ProjectID, br.Namespace, label, key)}
	}
	return nil
}

// checkOwnership refuses a request naming a database instance or bucket of another
// project, before any cloud call that writes: each must carry the ownership tag with
// spec.projectId (the destination bucket may instead be tagged as a shared backup
// bucket). Off with --resource-ownership=none. The tags are read concurrently; the
// verdict is the first refusal in spec order (instance, source, destination).
func (r *BackupRequestReconciler) checkOwnership(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider) error {
	if r.Options.ResourceOwnership == OwnershipNone {
		return nil
	}
	key, project := r.Options.OwnershipTagKey, br.Spec.ProjectID
	var checks []ownershipCheck
	if db := br.Spec.Database; db != nil && db.InstanceID != "" {
		checks = append(checks, ownershipCheck{
			resource: "database instance " + db.InstanceID, field: "spec.database.instanceId", op: "DatabaseInstanceTags",
			read: func(ctx context.Context) (map[string]string, error) {
				return prov.DatabaseInstanceTags(ctx, db.InstanceID)
			},
			command: fmt.Sprintf("aws rds add-tags-to-resource --resource-name <arn of %s> --tags Key=%s,Value=%s", db.InstanceID, key, project),
		})
	}
	if dl := br.Spec.DocumentLibrary; dl != nil {
		source, dest := string(dl.SourceBucket), string(dl.DestinationBucket)
		checks = append(checks, ownershipCheck{
			resource: "source bucket " + source, field: "spec.documentLibrary.sourceBucket", op: "BucketTags",
			read:    func(ctx context.Context) (map[string]string, error) { return prov.BucketTags(ctx, source) },
			command: provider.BucketTagCommand(prov, source, key, project),
		}, ownershipCheck{
			resource: "destination bucket " + dest, field: "spec.documentLibrary.destinationBucket", op: "BucketTags",
			read:    func(ctx context.Context) (map[string]string, error) { return prov.BucketTags(ctx, dest) },
			command: provider.BucketTagCommand(prov, dest, key, project), shared: true,
		})
	}
	var wg sync.WaitGroup
	for i := range checks {
		wg.Add(1)
		go func(c *ownershipCheck) {
			defer wg.Done()
			c.tags, c.err = c.read(ctx)
		}(&checks[i])
	}
	wg.Wait()
	for _, c := range checks {
		r.observeCall(c.op, c.err)
		if c.err != nil {
			return fmt.Errorf("read the tags of %s: %w", c.resource, c.err)
		}
		if c.tags[key] == project || (c.shared && c.tags[backupv1alpha1.SharedBackupBucketTag] == "true") {
			continue
		}
		f := notOwned(br, c.resource, c.field, c.tags[key], key, c.command)
		if c.shared {
			f.message += fmt.Sprintf(" (or tag a bucket shared by every project with %s=true)", backupv1alpha1.SharedBackupBucketTag)
		}
		return f
	}
	return nil
}

// ownershipCheck is the ownership tag read of one resource a spec names.
type ownershipCheck struct {
	resource, field, op, command string
	// shared accepts the shared-backup-bucket tag instead of the project's.
	shared bool
	read   func(context.Context) (map[string]string, error)
	tags   map[string]string
	err    error
}

// notOwned is the refusal of a resource whose ownership tag is not the request's project.
func notOwned(br *backupv1alpha1.BackupRequest, resource, field, found, key, command string) *failure {
	has := fmt.Sprintf("has no %s tag, so it does not belong to project %q", key, br.Spec.ProjectID)
	if found != "" {
		has = fmt.Sprintf("belongs to project %q (tag %s), not to project %q", found, key, br.Spec.ProjectID)
	}
	return &failure{backupv1alpha1.ReasonResourceNotOwned, fmt.Sprintf(
		"%s %s; if it is %s's, tag it %s=%s (%s), otherwise fix %s",
		resource, has, br.Spec.ProjectID, key, br.Spec.ProjectID, command, field)}
}

// destination is where a backup writes its objects: the document library's
// destination, or for a database-only backup its folder in the manifest bucket.
// ok is false when the backup writes no object at all.
func (r *BackupRequestReconciler) destination(br *backupv1alpha1.BackupRequest) (bucket, prefix string, ok bool) {
	if dl := br.Spec.DocumentLibrary; dl != nil {
		return string(dl.DestinationBucket), dl.DestinationKeyPrefix(), true
	}
	if r.Options.ManifestBucket == "" {
		return "", "", false
	}
	return r.Options.ManifestBucket, fmt.Sprintf("%s/%s/%s/", br.Spec.ProjectID, br.Spec.Environment, backupID(br)), true
}

// claimDestination makes the backup's destination its own before its first object:
// the destination must be this backup's already (a resumed run), or empty and inside
// no other backup, and no other BackupRequest may overlap it. Then the claim record
// is written. It returns the claim to record in status (nil when the backup writes
// no object), or the refusal.
func (r *BackupRequestReconciler) claimDestination(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider) (*backupv1alpha1.ClaimStatus, error) {
	bucket, prefix, ok := r.destination(br)
	if !ok {
		return nil, nil
	}
	if reserved := br.Spec.ProjectID + "/."; strings.HasPrefix(prefix, reserved) {
		// The schema refuses it too; a CRD installed without that rule must not let a
		// backup claim a place inside a repository or a restore record.
		return nil, &failure{backupv1alpha1.ReasonInvalidInput, fmt.Sprintf(
			"spec.documentLibrary.destinationPrefix %q lies under %q, which is the controller's (.repository/, .restores/); choose another prefix", prefix, reserved)}
	}
	if err := r.checkOtherRequests(ctx, br, bucket, prefix); err != nil {
		return nil, err
	}
	look := r.lookAtDestination(ctx, prov, bucket, prefix)
	if look.claimErr != nil {
		return nil, look.claimErr
	}
	if claim := look.claim; claim != nil {
		if claim.UID != string(br.UID) {
			return nil, &failure{backupv1alpha1.ReasonDestinationInUse, fmt.Sprintf(
				"s3://%s/%s is claimed by the backup %q (BackupRequest %s/%s); choose another spec.documentLibrary.destinationPrefix",
				bucket, prefix, claim.BackupID, claim.Namespace, claim.Name)}
		}
		// Ours: a run resumed after a restart.
		return &backupv1alpha1.ClaimStatus{Bucket: bucket, Prefix: prefix, ClaimedAt: &metav1.Time{Time: claim.ClaimedAt}}, nil
	}
	if err := look.checkUnclaimedFree(bucket, prefix); err != nil {
		return nil, err
	}
	return r.writeClaim(ctx, br, prov, bucket, prefix)
}

// checkUnclaimedFree refuses an unclaimed destination that holds objects or lies
// inside another backup.
func (look *destinationLook) checkUnclaimedFree(bucket, prefix string) error {
	if look.listErr != nil {
		return fmt.Errorf("check that s3://%s/%s is empty: %w", bucket, prefix, look.listErr)
	}
	if len(look.existing) > 0 {
		return &failure{backupv1alpha1.ReasonDestinationNotEmpty, fmt.Sprintf(
			"s3://%s/%s already holds objects (for example %s); a backup's destination must be empty: choose another spec.documentLibrary.destinationPrefix",
			bucket, prefix, look.existing[0].Key)}
	}
	for _, m := range look.markers {
		if m.err != nil {
			return m.err
		}
		if m.found {
			return &failure{backupv1alpha1.ReasonDestinationInUse, fmt.Sprintf(
				"s3://%s/%s lies inside the backup at s3://%s/%s (its %s); choose a spec.documentLibrary.destinationPrefix outside it",
				bucket, prefix, bucket, m.prefix, m.name)}
		}
	}
	return nil
}

// writeClaim writes the backup's claim.json to the free destination and returns it
// as status.
func (r *BackupRequestReconciler) writeClaim(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, bucket, prefix string) (*backupv1alpha1.ClaimStatus, error) {
	now := r.now()
	record := &layout.Claim{
		Version: layout.ClaimVersion, BackupID: backupID(br), UID: string(br.UID), Namespace: br.Namespace, Name: br.Name,
		ProjectID: br.Spec.ProjectID, Environment: br.Spec.Environment, ClaimedAt: now.UTC(),
	}
	data, err := record.Marshal()
	if err != nil {
		return nil, err
	}
	err = prov.UploadObject(ctx, bucket, layout.ClaimKey(prefix), data)
	r.observeCall("UploadObject", err)
	if err != nil {
		return nil, fmt.Errorf("write claim s3://%s/%s: %w", bucket, layout.ClaimKey(prefix), err)
	}
	return &backupv1alpha1.ClaimStatus{Bucket: bucket, Prefix: prefix, ClaimedAt: &now}, nil
}

// destinationLook is what the cloud says about a destination before it is claimed.
type destinationLook struct {
	claim    *layout.Claim
	claimErr error
	existing []provider.ObjectMetadata
	listErr  error
	// markers are the claim and manifest keys of every ancestor prefix, shortest first.
	markers []ancestorMarker
}

type ancestorMarker struct {
	prefix, name string
	found        bool
	err          error
}

// lookAtDestination reads, concurrently, the destination's claim, its first object
// and the claim and manifest keys of its ancestors: all reads, no write.
func (r *BackupRequestReconciler) lookAtDestination(ctx context.Context, prov provider.Provider, bucket, prefix string) *destinationLook {
	look := &destinationLook{}
	for _, ancestor := range layout.Ancestors(prefix) {
		for _, name := range []string{layout.ClaimName, layout.ManifestName} {
			look.markers = append(look.markers, ancestorMarker{prefix: ancestor, name: name})
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { look.claim, look.claimErr = artifact.ReadClaim(ctx, prov, bucket, prefix) })
	wg.Go(func() {
		look.existing, look.listErr = prov.ListObjectsUpTo(ctx, bucket, prefix, 1)
		r.observeCall("ListObjectsUpTo", look.listErr)
	})
	for i := range look.markers {
		m := &look.markers[i]
		wg.Go(func() { m.found, m.err = artifact.ObjectExists(ctx, prov, bucket, m.prefix+m.name) })
	}
	wg.Wait()
	return look
}

// checkOtherRequests refuses a destination overlapping another BackupRequest's that
// is older (of two requests claiming one destination the older keeps it).
func (r *BackupRequestReconciler) checkOtherRequests(ctx context.Context, br *backupv1alpha1.BackupRequest, bucket, prefix string) error {
	var all backupv1alpha1.BackupRequestList
	if err := r.List(ctx, &all, client.MatchingFields{destinationIndex: bucket}, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("list backup requests writing to bucket %s: %w", bucket, err)
	}
	for i := range all.Items {
		other := &all.Items[i]
		if other.UID == br.UID || other.Spec.DocumentLibrary == nil || other.Status.Phase == backupv1alpha1.PhaseExpired {
			continue
		}
		if other.Status.Phase == backupv1alpha1.PhaseFailed && other.Status.Claim == nil {
			continue // refused before its first write: it holds no destination
		}
		if !provider.PrefixesOverlap(prefix, other.Spec.DocumentLibrary.DestinationKeyPrefix()) {
			continue
		}
		if other.CreationTimestamp.Before(&br.CreationTimestamp) ||
			(other.CreationTimestamp.Equal(&br.CreationTimestamp) && other.UID < br.UID) {
			return &failure{backupv1alpha1.ReasonDestinationInUse, fmt.Sprintf(
				"s3://%s/%s overlaps the destination of BackupRequest %s/%s; choose another spec.documentLibrary.destinationPrefix",
				bucket, prefix, other.Namespace, other.Name)}
		}
	}
	return nil
}
