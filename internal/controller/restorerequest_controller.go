package controller

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
	"github.com/liferay/lc2-backup-controller/internal/copyjob"
	"github.com/liferay/lc2-backup-controller/internal/dumprun"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// RestoreFinalizer makes deleting an unfinished RestoreRequest cancel it: the copy
// stops and what the restore itself created is removed first.
const RestoreFinalizer = "backup.liferay.cloud/restore-cleanup"

// RestoreArchiver receives RestoreRequests that reached a terminal phase; it must not
// block, and it sets the Archived condition itself.
type RestoreArchiver interface {
	EnqueueRestore(rr *backupv1alpha1.RestoreRequest)
	// HistorySettled reports whether rr's current phase is in the history database,
	// or was refused by it for good (nothing more will come of waiting).
	HistorySettled(rr *backupv1alpha1.RestoreRequest) bool
}

// RestoreHistoryKey identifies a restore in the history database: the backup and the
// targets. ExcludeUID leaves out the asking RestoreRequest itself.
type RestoreHistoryKey struct {
	backupv1alpha1.RestoreIdentity
	ExcludeUID string
}

// CompletedRestore is a Succeeded restore the history database recorded.
type CompletedRestore struct {
	Namespace, Name, UID string
	CompletedAt          time.Time
}

// RestoreHistory answers whether a restore of the same backup into the same targets
// already completed. CompletedRestore blocks on the database: the reconciler calls
// it off its goroutine (historyLookups). It returns nil, nil when there is none.
type RestoreHistory interface {
	CompletedRestore(ctx context.Context, key RestoreHistoryKey) (*CompletedRestore, error)
}

// RestoreMetricsRecorder observes restores for Prometheus.
type RestoreMetricsRecorder interface {
	// RestoreStarted is called when a restore takes a slot of project.
	RestoreStarted(rr *backupv1alpha1.RestoreRequest)
	// RestoreFinished is called when a restore reaches Succeeded or Failed.
	RestoreFinished(rr *backupv1alpha1.RestoreRequest)
	// Restored adds the objects and bytes a restore's copy wrote.
	Restored(rr *backupv1alpha1.RestoreRequest, objects, bytes int64)
	// ProviderCall counts a provider API call and whether it failed.
	ProviderCall(operation string, err error)
}

// RestoreRequestReconciler reconciles RestoreRequest objects: it takes a slot of the
// namespace's project, resolves and verifies the backup once, validates every target
// once, restores the database and the document library (or only verifies the
// backup), and on deletion cancels and removes what the restore itself created.
type RestoreRequestReconciler struct {
	client.Client
	// APIReader reads around the cache, for conflict retries.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Providers *provider.Registry
	// Clock is the time source.
	Clock   clock.PassiveClock
	Options Options
	// Slots is the project slot admission, the same one the BackupRequest controller
	// has (NewSlots): restores and backups share a project's slots.
	Slots *admission.Admission
	// Archiver, if set, records terminal restores in the history database.
	Archiver RestoreArchiver
	// History, if set, is asked whether the same restore already completed. With
	// archival configured it must be set: a restore never goes ahead without its answer.
	History RestoreHistory
	// Metrics, if set, observes restores.
	Metrics RestoreMetricsRecorder
	// Dumps runs the dumper of restores that load a dump, and of verifyOnly's full
	// read of one (a Job, or a child process). Its own runner: a run wakes its owner,
	// a RestoreRequest.
	Dumps dumprun.Runner

	jobs    *copyjob.Runner
	lookups *historyLookups
	sources *sourceCache
	// writes are this controller's own last writes, for passes on a stale cache.
	writes *ownWrites[*backupv1alpha1.RestoreRequest]
}

// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=restorerequests,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=restorerequests/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=restorerequests/finalizers,verbs=update
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backuprequests,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile moves one RestoreRequest one step forward.
func (r *RestoreRequestReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	rr := &backupv1alpha1.RestoreRequest{}
	if err := getFresh(ctx, r.Client, r.APIReader, r.writes, req.NamespacedName, rr); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	log := ctrl.LoggerFrom(ctx).WithValues("phase", rr.Status.Phase, "verifyOnly", rr.Spec.VerifyOnly)
	if src := rr.Status.Source; src != nil {
		log = log.WithValues("project", src.ProjectID, "environment", src.Environment, "backup", src.BackupID)
	}
	ctx = ctrl.LoggerInto(ctx, log)

	if !rr.DeletionTimestamp.IsZero() {
		return r.reconcileRestoreDelete(ctx, rr)
	}
	// One-shot: a terminal restore never runs again, whatever changes later.
	if rr.Status.Phase.IsTerminal() {
		r.archiveRestore(rr)
		return ctrl.Result{}, nil
	}
	project, err := r.projectOf(ctx, rr)
	if err != nil {
		return r.handleStepError(ctx, rr, "", err)
	}
	if rr.Status.Phase == "" || rr.Status.Phase == backupv1alpha1.RestorePhasePending {
		return r.reconcileRestorePending(ctx, rr, project)
	}
	return r.reconcileRestoreInProgress(ctx, rr, project)
}

// projectOf is the project of the restore's namespace; a namespace without the project
// label cannot restore anything.
func (r *RestoreRequestReconciler) projectOf(ctx context.Context, rr *backupv1alpha1.RestoreRequest) (string, error) {
	project, err := r.Slots.ProjectOfNamespace(ctx, rr.Namespace)
	if err != nil {
		return "", err
	}
	if project == "" {
		return "", failWith(backupv1alpha1.ReasonProjectMismatch,
			"namespace %s has no %s label; a cluster administrator must label it with its project before it can restore backups",
			rr.Namespace, r.Options.ProjectLabelKey)
	}
	return project, nil
}

// reconcileRestoreInProgress runs the restore steps in order on a per-pass scope; a
// step that is not finished stops the pass and says when to look again. The steps'
// status changes are stored in one write at the end of the pass, before any failure
// goes through the failure funnel.
func (r *RestoreRequestReconciler) reconcileRestoreInProgress(ctx context.Context, rr *backupv1alpha1.RestoreRequest, project string) (ctrl.Result, error) {
	prov, provName, err := r.restoreProvider(ctx, rr)
	if err != nil {
		return r.handleStepError(ctx, rr, project, err)
	}
	if added, err := addFinalizer(ctx, r.Client, rr, RestoreFinalizer); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	} else if added {
		r.writes.record(rr)
	}
	s := r.newRestoreScope(rr, prov, provName, project)
	res, stepErr := runSteps(ctx, s, r.restoreSteps())
	if err := s.close(ctx, storeOf(r, r.APIReader), s.rr, r.writes.record); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if stepErr != nil {
		return r.handleStepError(ctx, rr, project, stepErr)
	}
	return requeueFor(res), nil
}

// restoreSteps are the steps of a restore, in order. Each owns one condition (or one
// part of status) and is done once that says so; completion is the last.
func (r *RestoreRequestReconciler) restoreSteps() []func(context.Context, *restoreScope) (stepResult, error) {
	return []func(context.Context, *restoreScope) (stepResult, error){
		r.reconcileResolveSource,
		r.reconcileValidate,
		r.reconcileRestoreDatabase,
		r.reconcileRestoreDump,
		r.reconcileRestoreFiles,
		r.reconcileVerify,
		r.reconcileRestoreCompletion,
	}
}

// handleStepError is the failure funnel: a failure verdict or a permanent provider
// error ends the restore in Failed; anything else is retried with the workqueue's backoff.
func (r *RestoreRequestReconciler) handleStepError(ctx context.Context, rr *backupv1alpha1.RestoreRequest, project string, err error) (ctrl.Result, error) {
	return failureFunnel(ctx, err, provider.Describe,
		func(f *failure) error { return r.failRestore(ctx, rr, project, f.reason, f.message) })
}

// failRestore ends the restore in phase Failed: the copy stops, the slot is freed,
// and the failure is announced (event, metrics, history).
func (r *RestoreRequestReconciler) failRestore(ctx context.Context, rr *backupv1alpha1.RestoreRequest, project string, reason backupv1alpha1.Reason, message string) error {
	r.jobs.Cancel(rr.UID)
	r.stopRestoreDumper(ctx, rr)
	now := metav1Now(r.Clock)
	if err := r.patchStatus(ctx, rr, func(st *backupv1alpha1.RestoreRequestStatus) {
		st.SetAsFailed(reason, message, now)
	}); err != nil {
		return client.IgnoreNotFound(err)
	}
	r.forgetRestore(ctx, rr, project)
	ctrl.LoggerFrom(ctx).Info("restore failed", "reason", reason, "message", message)
	r.recorder().warning(rr, reason, "Fail", "Restore failed: %s", message)
	r.recordRestoreEnd(rr)
	return nil
}

// forgetRestore frees what a restore holds in this process: its slot of project (when
// known) and its cached source and history lookup.
func (r *RestoreRequestReconciler) forgetRestore(ctx context.Context, rr *backupv1alpha1.RestoreRequest, project string) {
	if project != "" {
		r.Slots.ReleaseRestore(ctx, project, rr)
	}
	r.lookups.forget(rr.UID)
	r.sources.forget(rr.UID)
}

// recordRestoreEnd counts a restore that reached Succeeded or Failed and hands it to the history.
func (r *RestoreRequestReconciler) recordRestoreEnd(rr *backupv1alpha1.RestoreRequest) {
	if r.Metrics != nil {
		r.Metrics.RestoreFinished(rr)
	}
	r.archiveRestore(rr)
}

func (r *RestoreRequestReconciler) archiveRestore(rr *backupv1alpha1.RestoreRequest) {
	if r.Archiver != nil {
		r.Archiver.EnqueueRestore(rr)
	}
}

func (r *RestoreRequestReconciler) observeCall(op string, err error) {
	if r.Metrics != nil {
		r.Metrics.ProviderCall(op, err)
	}
}

// SetupWithManager registers the controller and its watches with mgr. It refuses a
// reconciler missing a required dependency; the cache indexes it reads must have been
// registered with RegisterIndexes.
func (r *RestoreRequestReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := r.validate(); err != nil {
		return err
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	r.prepare(ctx)
	return ctrl.NewControllerManagedBy(mgr).
		For(&backupv1alpha1.RestoreRequest{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, restorePhaseChanged{}), admission.NotCreations())).
		// Creations, live or listed at start-up, at the priority of their first pass.
		Watches(&backupv1alpha1.RestoreRequest{}, r.Slots.CreationHandler(), builder.WithPredicates(admission.Creations())).
		// Wake-up paths besides the watch above: a slot freed by a release here or in
		// the backup controller, or seen freed through the watches; a copy job's end;
		// a history lookup's answer.
		WatchesRawSource(r.Slots.RestoreWakeSource()).
		Watches(&backupv1alpha1.BackupRequest{}, r.Slots.RestoreSlotFreedHandler(), builder.WithPredicates(admission.SlotFreedPredicate())).
		Watches(&backupv1alpha1.RestoreRequest{}, r.Slots.RestoreSlotFreedHandler(), builder.WithPredicates(admission.SlotFreedPredicate())).
		WatchesRawSource(r.jobs.Source()).
		WatchesRawSource(r.Dumps.Source()).
		WatchesRawSource(r.lookups.source()).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.MaxConcurrentReconciles}).
		Named("restorerequest").
		Complete(r)
}

// validate refuses a reconciler missing a dependency it cannot run without.
func (r *RestoreRequestReconciler) validate() error {
	return requireDependencies("restorerequest",
		dependency{"Client", r.Client != nil},
		dependency{"Recorder", r.Recorder != nil},
		dependency{"Providers", r.Providers != nil},
		dependency{"Slots", r.Slots != nil},
		dependency{"Dumps", r.Dumps != nil},
		dependency{"Clock", r.Clock != nil})
}

// prepare fills defaults and the in-memory parts; copy jobs and lookups end with ctx.
func (r *RestoreRequestReconciler) prepare(ctx context.Context) {
	r.Options = r.Options.WithDefaults()
	if r.APIReader == nil {
		r.APIReader = r.Client
	}
	r.jobs = copyjob.NewRunner(ctx)
	r.lookups = newHistoryLookups(ctx)
	r.sources = newSourceCache()
	r.writes = newOwnWrites[*backupv1alpha1.RestoreRequest]()
}

// restorePhaseChanged passes creations, deletions and updates that change
// status.phase or start deletion; progress-only status writes do not wake the reconciler.
type restorePhaseChanged struct{ predicate.Funcs }

func (restorePhaseChanged) Update(e event.UpdateEvent) bool {
	oldRR, okOld := e.ObjectOld.(*backupv1alpha1.RestoreRequest)
	newRR, okNew := e.ObjectNew.(*backupv1alpha1.RestoreRequest)
	if !okOld || !okNew {
		return true
	}
	if oldRR.Status.Phase != newRR.Status.Phase || oldRR.DeletionTimestamp.IsZero() != newRR.DeletionTimestamp.IsZero() {
		return true
	}
	// A deletion waiting for the history row goes on when the archiver records it
	// (archivedPhase alone changes when it records again a phase archived before
	// the field existed).
	return !newRR.DeletionTimestamp.IsZero() && (oldRR.Status.ArchivedPhase != newRR.Status.ArchivedPhase ||
		!equality.Semantic.DeepEqual(
			meta.FindStatusCondition(oldRR.Status.Conditions, string(backupv1alpha1.ConditionArchived)),
			meta.FindStatusCondition(newRR.Status.Conditions, string(backupv1alpha1.ConditionArchived))))
}

// restoreOwner is the RestoreRequest as owner tags of what it creates.
func restoreOwner(rr *backupv1alpha1.RestoreRequest) provider.BackupOwner {
	o := provider.BackupOwner{Namespace: rr.Namespace, Name: rr.Name, UID: string(rr.UID)}
	if src := rr.Status.Source; src != nil {
		o.ProjectID, o.Environment = src.ProjectID, src.Environment
	}
	return o
}

// restorePollDelay is the backoff of instance polls: as long as the restore has
// waited, from min(5 s, SnapshotPollInitial) up to min(60 s, SnapshotPollMax).
func (r *RestoreRequestReconciler) restorePollDelay(waited time.Duration) time.Duration {
	lo := min(5*time.Second, r.Options.SnapshotPollInitial)
	hi := max(lo, min(60*time.Second, r.Options.SnapshotPollMax))
	return min(max(waited, lo), hi)
}
