package controller

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/repository"
)

// loadedSource is a backup whose manifest verified: where it lives and what it holds.
type loadedSource struct {
	manifest *manifest.Manifest
	// location is the manifest's URL; bucket and key are its parts.
	location, bucket, key string
	// checksum is the manifest's verified checksum.
	checksum string
	// br is the BackupRequest named by spec.source.backupRequestName, if any.
	br *backupv1alpha1.BackupRequest
}

// dataBucket and dataPrefix are where the backup's own files are: its destination
// bucket and prefix (a Full backup's objects are under dataPrefix + "data/").
func (l *loadedSource) dataBucket() string { return l.manifest.DocumentLibrary.DestinationBucket }
func (l *loadedSource) dataPrefix() string { return l.manifest.DocumentLibrary.DestinationPrefix }

// objectsPrefix is the prefix every stored object of the backup is under: data/ of
// its destination, or the objects of its repository.
func (l *loadedSource) objectsPrefix() string {
	if dl := l.manifest.DocumentLibrary; dl.Incremental() {
		return dl.RepositoryPrefix + repository.ObjectsDir
	}
	return layout.DataPrefix(l.dataPrefix())
}

// isObjectKey reports whether an inventory entry's stored key names a stored object
// of the backup: an object of its repository, or under data/ of its destination.
func (l *loadedSource) isObjectKey(storedKey string) bool {
	if l.manifest.DocumentLibrary.Incremental() {
		return repository.IsStoredKey(storedKey)
	}
	return layout.IsDataKey(storedKey)
}

// inventoryEntries streams the backup's inventory: every part the manifest lists is
// downloaded and must match its recorded sha256 and object count before any of its
// entries is used.
func (l *loadedSource) inventoryEntries(ctx context.Context, r *RestoreRequestReconciler, prov provider.Provider) iter.Seq2[inventory.Entry, error] {
	return func(yield func(inventory.Entry, error) bool) {
		dl := l.manifest.DocumentLibrary
		if dl == nil || dl.Inventory == nil {
			return
		}
		for _, p := range dl.Inventory.Parts {
			key := dl.DestinationPrefix + p.Key
			entries, err := l.readInventoryPart(ctx, r, prov, l.dataBucket(), p, key)
			if err != nil {
				yield(inventory.Entry{}, err)
				return
			}
			for _, e := range entries {
				if err := l.checkInventoryEntry(key, e); err != nil {
					yield(inventory.Entry{}, err)
					return
				}
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}

// databaseEntries streams the entries of the inventory part that lists the backup's
// database files (the dump and its record), verified like the document library's
// parts; nothing for a backup without one (no dump, or listed before the dump files
// were). Every entry must name a file in database/: a restore of files never reads
// these, and nothing else may read them as document-library files.
func (l *loadedSource) databaseEntries(ctx context.Context, r *RestoreRequestReconciler, prov provider.Provider) iter.Seq2[inventory.Entry, error] {
	return func(yield func(inventory.Entry, error) bool) {
		db := l.manifest.Database
		if db == nil || db.Inventory == nil {
			return
		}
		bucket, prefix := l.ownBucket(), l.ownPrefix()
		for _, p := range db.Inventory.Parts {
			key := prefix + p.Key
			entries, err := l.readInventoryPart(ctx, r, prov, bucket, p, key)
			if err != nil {
				yield(inventory.Entry{}, err)
				return
			}
			for _, e := range entries {
				if !layout.IsDatabaseKey(e.StoredKey) {
					yield(inventory.Entry{}, failWith(backupv1alpha1.ReasonChecksumMismatch,
						"inventory part s3://%s/%s lists %q, which is not a database file of the backup (%s)", bucket, key, e.StoredKey, layout.DatabaseDir))
					return
				}
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}

// ownBucket and ownPrefix are where the backup's own files are (claim, inventory
// parts, dump files): its document library's destination, or for a database-only
// backup the folder of its manifest.
func (l *loadedSource) ownBucket() string {
	if l.manifest.DocumentLibrary != nil {
		return l.dataBucket()
	}
	return l.bucket
}

func (l *loadedSource) ownPrefix() string {
	if l.manifest.DocumentLibrary != nil {
		return l.dataPrefix()
	}
	return l.key[:strings.LastIndex(l.key, "/")+1]
}

// readInventoryPart downloads the inventory part at key in bucket and returns its
// entries once its content has the sha256, object count and size the manifest records.
func (l *loadedSource) readInventoryPart(ctx context.Context, r *RestoreRequestReconciler, prov provider.Provider, bucket string, p manifest.InventoryPart, key string) ([]inventory.Entry, error) {
	data, err := provider.ReadSmallObject(ctx, prov, bucket, key)
	r.observeCall("DownloadObject", err)
	if err != nil {
		if provider.IsNotFound(err) {
			err = failWith(backupv1alpha1.ReasonChecksumMismatch, "inventory part s3://%s/%s listed by the manifest is missing", bucket, key)
		}
		return nil, err
	}
	if inventory.Checksum(data) != p.SHA256 {
		// The part's own hash is not told: it would help forge a manifest.
		return nil, failWith(backupv1alpha1.ReasonChecksumMismatch,
			"inventory part s3://%s/%s does not verify: its content does not have the sha256 the manifest records (%s); the backup is not trusted",
			bucket, key, p.SHA256)
	}
	var entries []inventory.Entry
	part, err := inventory.Read(data, func(e inventory.Entry) error {
		entries = append(entries, e)
		return nil
	})
	if err == nil && (part.Objects != p.ObjectCount || part.Bytes != p.SizeBytes) {
		err = fmt.Errorf("lists %d objects (%d bytes), the manifest records %d (%d bytes)", part.Objects, part.Bytes, p.ObjectCount, p.SizeBytes)
	}
	if err != nil {
		return nil, failWith(backupv1alpha1.ReasonChecksumMismatch, "inventory part s3://%s/%s: %v", bucket, key, err)
	}
	return entries, nil
}

// checkInventoryEntry refuses an entry of the inventory part at key whose stored key
// climbs out of the backup or is not one of its stored objects.
func (l *loadedSource) checkInventoryEntry(key string, e inventory.Entry) error {
	if climbsAbove(e.StoredKey) {
		return failWith(backupv1alpha1.ReasonResourceNotOwned,
			"inventory part s3://%s/%s lists the stored key %q, which climbs above %s once its . and .. segments are resolved; the backup is not trusted",
			l.dataBucket(), key, e.StoredKey, l.storedBase())
	}
	if !l.isObjectKey(e.StoredKey) {
		return failWith(backupv1alpha1.ReasonChecksumMismatch,
			"inventory part s3://%s/%s lists %q, which is not a data key of the backup", l.dataBucket(), key, e.StoredKey)
	}
	return nil
}

// sourceCache keeps each running restore's verified manifest between passes; after a
// restart it is read again and must still carry the checksum recorded in status.
type sourceCache struct {
	mu      sync.Mutex
	sources map[types.UID]*loadedSource
}

func newSourceCache() *sourceCache { return &sourceCache{sources: map[types.UID]*loadedSource{}} }

func (c *sourceCache) get(uid types.UID) *loadedSource {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sources[uid]
}

func (c *sourceCache) put(uid types.UID, l *loadedSource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sources[uid] = l
}

func (c *sourceCache) forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sources, uid)
}

// reconcileResolveSource resolves the backup once: the BackupRequest (which must be
// Succeeded) or the manifest URL gives the manifest, whose checksum must verify, every
// inventory part it lists must match its sha256, and its project must be the
// namespace's. The result goes to status.source and is never resolved again: later
// passes read the same manifest and refuse it if its checksum changed.
func (r *RestoreRequestReconciler) reconcileResolveSource(ctx context.Context, s *restoreScope) (stepResult, error) {
	rr, st := s.rr, s.status()
	if st.Source != nil {
		src, err := r.reloadSource(ctx, s)
		if err != nil {
			return stepResult{}, err
		}
		s.src = src
		return stepDone, nil
	}
	src, err := r.resolveSource(ctx, s)
	if err != nil {
		var f *failure
		if errors.As(err, &f) {
			st.SetCondition(backupv1alpha1.ConditionSourceVerified, metav1.ConditionFalse, f.reason, f.message, s.now)
		}
		return stepResult{}, err
	}
	m := src.manifest
	resolved := &backupv1alpha1.ResolvedBackup{
		BackupID: m.BackupID, ProjectID: m.ProjectID, Environment: m.Environment,
		ManifestLocation: src.location, ManifestChecksum: src.checksum, ResolvedAt: &metav1.Time{Time: s.now},
	}
	if src.br != nil {
		resolved.BackupRequestName, resolved.BackupRequestUID = src.br.Name, string(src.br.UID)
	}
	if m.Database != nil {
		resolved.SnapshotID = m.Database.SnapshotID
	}
	if m.DocumentLibrary != nil {
		resolved.Objects = m.DocumentLibrary.ObjectCount
	}
	st.Source = resolved
	s.src = src
	r.sources.put(rr.UID, src)
	s.after(func() {
		if r.Metrics != nil {
			r.Metrics.RestoreStarted(rr)
		}
		r.recorder().normal(rr, backupv1alpha1.ReasonSourceVerified, "ResolveSource", "Backup %s of %s/%s resolved from %s; manifest and inventory checksums verify",
			m.BackupID, m.ProjectID, m.Environment, src.location)
	})
	return stepDone, nil
}

// reloadSource returns the resolved backup's manifest, read again after a restart.
func (r *RestoreRequestReconciler) reloadSource(ctx context.Context, s *restoreScope) (*loadedSource, error) {
	if src := r.sources.get(s.rr.UID); src != nil {
		return src, nil
	}
	resolved := s.status().Source
	bucket, key, err := provider.ParseObjectURL(resolved.ManifestLocation)
	if err != nil {
		return nil, failWith(backupv1alpha1.ReasonInvalidInput, "status.source.manifestLocation: %v", err)
	}
	src, err := r.readManifest(ctx, s.prov, bucket, key)
	if err != nil {
		return nil, err
	}
	if src.checksum != resolved.ManifestChecksum {
		return nil, failWith(backupv1alpha1.ReasonChecksumMismatch,
			"the manifest at %s changed since the restore resolved it (checksum %s, recorded %s); the backup is not trusted",
			resolved.ManifestLocation, src.checksum, resolved.ManifestChecksum)
	}
	if name := s.rr.Spec.Source.BackupRequestName; name != "" {
		br := &backupv1alpha1.BackupRequest{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: s.rr.Namespace, Name: name}, br); err == nil && string(br.UID) == resolved.BackupRequestUID {
			src.br = br // for the source instance's recorded settings
		}
	}
	r.sources.put(s.rr.UID, src)
	return src, nil
}

// resolveSource finds, reads and verifies the backup the spec names.
func (r *RestoreRequestReconciler) resolveSource(ctx context.Context, s *restoreScope) (*loadedSource, error) {
	br, location, field, err := r.sourceBackupRequest(ctx, s.rr)
	if err != nil {
		return nil, err
	}
	bucket, key, err := provider.ParseObjectURL(location)
	if err != nil {
		return nil, failWith(backupv1alpha1.ReasonInvalidInput, "%s: %v", field, err)
	}
	if err := r.checkManifestLocation(ctx, s, field, bucket, key); err != nil {
		return nil, err
	}
	src, err := r.readManifest(ctx, s.prov, bucket, key)
	if err != nil {
		return nil, err
	}
	src.br = br
	if err := checkSourceManifest(s, src, location); err != nil {
		return nil, err
	}
	// Before the first read of anything the manifest names.
	if err := r.checkBackupOwned(ctx, s, src); err != nil {
		return nil, err
	}
	if err := r.verifySourceInventory(ctx, s, src); err != nil {
		return nil, err
	}
	return src, nil
}

// sourceBackupRequest returns the Succeeded BackupRequest spec.source.backupRequestName
// names (nil when the spec names a manifest), the manifest URL to read and the field it
// came from, for messages.
func (r *RestoreRequestReconciler) sourceBackupRequest(ctx context.Context, rr *backupv1alpha1.RestoreRequest) (br *backupv1alpha1.BackupRequest, location, field string, err error) {
	name := rr.Spec.Source.BackupRequestName
	if name == "" {
		return nil, rr.Spec.Source.Manifest, "spec.source.manifest", nil
	}
	br = &backupv1alpha1.BackupRequest{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: rr.Namespace, Name: name}, br); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, "", "", failWith(backupv1alpha1.ReasonSourceNotReady,
				"spec.source.backupRequestName: there is no BackupRequest %s in namespace %s (restore from its manifest with spec.source.manifest if it was deleted)", name, rr.Namespace)
		}
		return nil, "", "", fmt.Errorf("get backup request %s/%s: %w", rr.Namespace, name, err)
	}
	if br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		return nil, "", "", failWith(backupv1alpha1.ReasonSourceNotReady,
			"spec.source.backupRequestName: BackupRequest %s is %s, not Succeeded; only a Succeeded backup can be restored", name, phaseOrNew(br.Status.Phase))
	}
	if br.Status.Manifest == nil || br.Status.Manifest.Location == "" {
		return nil, "", "", failWith(backupv1alpha1.ReasonSourceNotReady,
			"spec.source.backupRequestName: BackupRequest %s has no manifest (a database-only backup without --manifest-bucket), so it cannot be verified or restored", name)
	}
	return br, br.Status.Manifest.Location, fmt.Sprintf("spec.source.backupRequestName: the manifest of BackupRequest %s", name), nil
}

// checkSourceManifest refuses the verified manifest read from location when it is not
// the one its BackupRequest recorded, or when its project is not the namespace's.
func checkSourceManifest(s *restoreScope, src *loadedSource, location string) error {
	m, br := src.manifest, src.br
	if br != nil && br.Status.Manifest.Checksum != "" && br.Status.Manifest.Checksum != src.checksum {
		return failWith(backupv1alpha1.ReasonChecksumMismatch,
			"the manifest at %s has checksum %s but BackupRequest %s recorded %s: it was replaced; the backup is not trusted",
			location, src.checksum, br.Name, br.Status.Manifest.Checksum)
	}
	if m.ProjectID != s.project {
		return failWith(backupv1alpha1.ReasonProjectMismatch,
			"spec.source: the backup %s belongs to project %q, but namespace %s belongs to project %q; a namespace restores only its own project's backups",
			m.BackupID, m.ProjectID, s.rr.Namespace, s.project)
	}
	return nil
}

// verifySourceInventory reads every inventory part of the backup's files, each of which
// must verify, and refuses the backup unless they sum to the manifest's totals.
func (r *RestoreRequestReconciler) verifySourceInventory(ctx context.Context, s *restoreScope, src *loadedSource) error {
	m := src.manifest
	if err := r.verifyDumpInventory(ctx, s, src); err != nil {
		return err
	}
	dl := m.DocumentLibrary
	if dl == nil {
		return nil
	}
	if dl.Inventory == nil {
		return failWith(backupv1alpha1.ReasonChecksumMismatch,
			"spec.source: the backup %s has no inventory (a manifest older than format 1.1), so its files cannot be verified or restored", m.BackupID)
	}
	for _, err := range src.inventoryEntries(ctx, r, s.prov) {
		if err != nil {
			return err
		}
	}
	var objects, bytes int64
	for _, p := range dl.Inventory.Parts {
		objects += p.ObjectCount
		bytes += p.SizeBytes
	}
	if objects != dl.ObjectCount || bytes != dl.TotalSizeBytes {
		return failWith(backupv1alpha1.ReasonChecksumMismatch,
			"the inventory of %s lists %d objects (%d bytes) but the manifest records %d (%d bytes); the backup is not trusted",
			m.BackupID, objects, bytes, dl.ObjectCount, dl.TotalSizeBytes)
	}
	return nil
}

// verifyDumpInventory reads the part that lists the dump files, which must verify and
// list exactly the dump the manifest records, at its size and SHA-256, and its record.
// A dump manifest written before the dump files were listed has none to read.
func (r *RestoreRequestReconciler) verifyDumpInventory(ctx context.Context, s *restoreScope, src *loadedSource) error {
	db := src.manifest.Database
	if db == nil || db.Inventory == nil || db.Dump == nil {
		return nil
	}
	found := map[string]inventory.Entry{}
	var lines int64
	for e, err := range src.databaseEntries(ctx, r, s.prov) {
		if err != nil {
			return err
		}
		found[e.StoredKey] = e
		lines++
	}
	if err := checkListedDump(found, db.Dump, lines); err != nil {
		return failWith(backupv1alpha1.ReasonChecksumMismatch, "the manifest's database.inventory of %s: %v; the backup is not trusted", src.manifest.BackupID, err)
	}
	return nil
}

// readManifest downloads and verifies the manifest at bucket/key.
func (r *RestoreRequestReconciler) readManifest(ctx context.Context, prov provider.Provider, bucket, key string) (*loadedSource, error) {
	location := fmt.Sprintf("s3://%s/%s", bucket, key)
	data, err := provider.ReadSmallObject(ctx, prov, bucket, key)
	r.observeCall("DownloadObject", err)
	if provider.IsNotFound(err) {
		return nil, failWith(backupv1alpha1.ReasonSourceNotReady, "spec.source: there is no manifest at %s", location)
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", location, err)
	}
	m, err := manifest.Verify(data)
	if err != nil {
		return nil, failWith(backupv1alpha1.ReasonChecksumMismatch, "the manifest at %s does not verify, so the backup is not trusted: %v", location, err)
	}
	return &loadedSource{manifest: m, location: location, bucket: bucket, key: key, checksum: m.Checksum}, nil
}

func phaseOrNew(p backupv1alpha1.BackupPhase) string {
	if p == "" {
		return "new"
	}
	return string(p)
}
