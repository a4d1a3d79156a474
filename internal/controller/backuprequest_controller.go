// Package controller reconciles BackupRequests: it takes a per-project slot, snapshots
// the database, copies the document library, writes the manifest and records the
// outcome, one small step per pass, each step's outcome stored in status before the
// next starts so a restarted controller resumes where it stopped.
package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
	"github.com/liferay/lc2-backup-controller/internal/copyjob"
	"github.com/liferay/lc2-backup-controller/internal/dumprun"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/repolock"
)

// Archiver receives BackupRequests that reached a terminal phase; it must not block.
type Archiver interface {
	Enqueue(br *backupv1alpha1.BackupRequest)
}

// BackupRequestReconciler reconciles BackupRequest objects.
type BackupRequestReconciler struct {
	client.Client
	// APIReader reads around the cache, for conflict retries.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Providers *provider.Registry
	// Clock is the time source (tests move it to expire backups).
	Clock   clock.PassiveClock
	Options Options
	// Archiver, if set, records terminal backups in the history database.
	Archiver Archiver
	// Metrics, if set, observes backups.
	Metrics MetricsRecorder
	// Slots is the project slot admission, the same one the RestoreRequest controller
	// has (NewSlots): restores and backups share a project's slots.
	Slots *admission.Admission
	// Dumps runs the dumper of type: dump backups (a Job, or a child process).
	Dumps dumprun.Runner

	slots  *admission.Admission
	jobs   *copyjob.Runner
	writes *lastWrites
	// locks are the Incremental repositories' locks.
	locks *repolock.Locks
}

// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backuprequests,verbs=get;list;watch;update;patch;delete
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backuprequests/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backuprequests/finalizers,verbs=update
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backupschedules,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile moves one BackupRequest one step forward.
func (r *BackupRequestReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	br := &backupv1alpha1.BackupRequest{}
	if err := r.getBackupRequest(ctx, req.NamespacedName, br); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	log := ctrl.LoggerFrom(ctx).WithValues("project", br.Spec.ProjectID, "environment", br.Spec.Environment, "phase", br.Status.Phase)
	ctx = ctrl.LoggerInto(ctx, log)

	if !br.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, br)
	}
	if br.Status.Phase.IsTerminal() {
		r.archive(br)
		return r.reconcileRetention(ctx, br)
	}

	if br.Status.Phase == "" || br.Status.Phase == backupv1alpha1.PhasePending {
		// A new request goes straight to the checks and the slot: its first status
		// write is already InProgress, Pending (waiting) or Failed.
		return r.reconcilePending(ctx, br)
	}
	return r.reconcileInProgress(ctx, br)
}

// reconcilePending checks the request can run at all, then waits for a project slot.
// A backup back in the queue after a quota refusal waits for its retry time first,
// and still fails at its deadline.
func (r *BackupRequestReconciler) reconcilePending(ctx context.Context, br *backupv1alpha1.BackupRequest) (ctrl.Result, error) {
	if r.deadlinePassed(br) {
		return r.handleStepError(ctx, br, r.deadlineFailure(br))
	}
	if now := r.Clock.Now(); br.Status.WaitsForQuota(now) {
		return admission.Recheck(br.Status.QuotaWait.RetryAt.Sub(now)), nil
	}
	if err := r.preflight(ctx, br); err != nil {
		return r.handleStepError(ctx, br, err)
	}
	return r.acquireSlot(ctx, br)
}

// reconcileInProgress runs the backup steps in order on a per-pass scope; a step that
// is not finished stops the pass and says when to look again. The steps' status
// changes are stored in one write at the end of the pass, before any failure goes
// through the failure funnel.
func (r *BackupRequestReconciler) reconcileInProgress(ctx context.Context, br *backupv1alpha1.BackupRequest) (ctrl.Result, error) {
	if r.deadlinePassed(br) {
		r.jobs.Cancel(br.UID)
		return r.handleStepError(ctx, br, r.deadlineFailure(br))
	}
	prov, err := r.Providers.Get(string(br.Spec.Provider))
	if err != nil {
		return r.handleStepError(ctx, br, failWith(backupv1alpha1.ReasonProviderNotSupported, "%s", err.Error()))
	}
	// Normally already there (added before the claim); kept for requests started by
	// an older controller.
	if added, err := addFinalizer(ctx, r.Client, br, CleanupFinalizer); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	} else if added {
		r.writes.record(br)
	}
	s := r.newScope(br, prov)
	res, stepErr := runSteps(ctx, s, r.steps())
	if err := s.close(ctx, r.statusStore(), s.br, r.writes.record); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if stepErr != nil {
		return r.handleStepError(ctx, br, stepErr)
	}
	if s.br.Status.Phase.IsTerminal() {
		return r.retentionRecheck(s.br), nil
	}
	return requeueFor(res), nil
}

// steps are the steps of a backup, in order. Each owns one condition and is done once
// that condition says so; completion is the last.
func (r *BackupRequestReconciler) steps() []func(context.Context, *backupScope) (stepResult, error) {
	return []func(context.Context, *backupScope) (stepResult, error){
		r.reconcileClaim,
		r.reconcileSnapshot,
		r.reconcileDumpInstance,
		r.reconcileDump,
		r.reconcileDumpInstanceRemoval,
		r.reconcileCopy,
		r.reconcileSnapshotRelease,
		r.reconcileManifest,
		r.reconcileCompletion,
	}
}

// deadlineFailure is the failure of a backup past its deadline.
func (r *BackupRequestReconciler) deadlineFailure(br *backupv1alpha1.BackupRequest) error {
	return failWith(backupv1alpha1.ReasonDeadlineExceeded,
		"backup did not finish within %s of starting%s; raise --backup-deadline if this environment needs longer",
		r.Options.BackupDeadline, quotaWaitNote(br))
}

// handleStepError puts a backup refused for an account quota back in its queue
// (waitForQuota), fails it on any other permanent provider error, and retries (with
// the workqueue's backoff) on anything else.
func (r *BackupRequestReconciler) handleStepError(ctx context.Context, br *backupv1alpha1.BackupRequest, err error) (ctrl.Result, error) {
	if provider.KindOf(err) == provider.KindQuotaExceeded {
		return r.waitForQuota(ctx, br, err)
	}
	res, err := failureFunnel(ctx, err,
		func(err error) string { return actionableMessage(br, err) },
		func(f *failure) error { return r.fail(ctx, br, f.reason, f.message) })
	if err == nil && br.Status.Phase == backupv1alpha1.PhaseFailed {
		return r.retentionRecheck(br), nil
	}
	return res, err
}

// actionableMessage is a permanent provider error as a user should read it: the
// provider's short description (no SDK chain, no request ids; those go to the log)
// and what to check, naming the spec field when the error is about one.
func actionableMessage(br *backupv1alpha1.BackupRequest, err error) string {
	msg := provider.Describe(err)
	field := specFieldOf(br, err)
	switch provider.KindOf(err) {
	case provider.KindNotFound:
		if field != "" {
			return msg + "; check " + field
		}
	case provider.KindAccessDenied:
		return msg + "; the controller's cloud identity lacks a permission (docs/" + providerDoc(br.Spec.Provider) + " lists the least-privilege roles)"
	}
	if field != "" {
		return msg + " (" + field + ")"
	}
	return msg
}

// providerDoc is the docs/ page of a store: its credentials and least-privilege roles.
func providerDoc(p backupv1alpha1.CloudProvider) string {
	switch p {
	case backupv1alpha1.ProviderGCP, backupv1alpha1.ProviderAzure:
		return string(p) + "-provider.md"
	case backupv1alpha1.ProviderLocal:
		return "install.md"
	}
	return "aws-provider.md"
}

// specFieldOf names the spec field that holds the resource a provider error is about.
func specFieldOf(br *backupv1alpha1.BackupRequest, err error) string {
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return ""
	}
	about := func(name string) bool { return pe.Resource == name || strings.HasPrefix(pe.Resource, name+"/") }
	if db := br.Spec.Database; db != nil && about(db.InstanceID) {
		return "spec.database.instanceId"
	}
	if dl := br.Spec.DocumentLibrary; dl != nil {
		switch {
		case about(string(dl.SourceBucket)):
			return "spec.documentLibrary.sourceBucket"
		case about(string(dl.DestinationBucket)):
			return "spec.documentLibrary.destinationBucket"
		}
	}
	return ""
}

func (r *BackupRequestReconciler) deadlinePassed(br *backupv1alpha1.BackupRequest) bool {
	return br.Status.StartTime != nil && r.Clock.Since(br.Status.StartTime.Time) > r.Options.BackupDeadline
}

// fail ends the backup in phase Failed with reason and an actionable message.
func (r *BackupRequestReconciler) fail(ctx context.Context, br *backupv1alpha1.BackupRequest, reason backupv1alpha1.Reason, message string) error {
	now := r.now()
	expires := r.expiry(br, now.Time)
	r.stopDump(ctx, br)
	instanceGone := r.failedDumpInstanceRemoved(ctx, br)
	err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		st.SetAsFailed(reason, message, now, expires)
		if instanceGone && st.Database != nil && st.Database.DumpInstance != nil {
			st.Database.DumpInstance.Deleted = true
		}
	})
	if err != nil {
		return client.IgnoreNotFound(err)
	}
	r.slots.Release(ctx, br)
	ctrl.LoggerFrom(ctx).Info("backup failed", "reason", reason, "message", message)
	r.recorder().warning(br, reason, "Fail", "Backup failed: %s", message)
	if r.Metrics != nil {
		r.Metrics.Finished(br)
	}
	r.archive(br)
	return nil
}

func (r *BackupRequestReconciler) archive(br *backupv1alpha1.BackupRequest) {
	if r.Archiver != nil {
		r.Archiver.Enqueue(br)
	}
}

// SetupWithManager registers the controller and its watches with mgr. It refuses a
// reconciler missing a required dependency; the cache indexes it reads must have been
// registered with RegisterIndexes.
func (r *BackupRequestReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := r.validate(); err != nil {
		return err
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	r.prepare(ctx)
	if err := mgr.Add(dumpInstanceSweep{r}); err != nil {
		return fmt.Errorf("add the throw-away dump instance sweep: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&backupv1alpha1.BackupRequest{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, lifecycleChanged{}), admission.NotCreations())).
		// Phase changes written elsewhere, at the priority of their next pass; this
		// controller's own are followed by the pass that wrote them.
		Watches(&backupv1alpha1.BackupRequest{}, transitionHandler{wrote: r.writes.wrote}).
		// Creations, live or listed at start-up, at the priority of their first pass.
		Watches(&backupv1alpha1.BackupRequest{}, r.slots.CreationHandler(), builder.WithPredicates(admission.Creations())).
		// A request leaving InProgress (or going away) frees a slot: wake its project's waiting requests at once.
		// The wake-up paths besides the watch above: a slot freed here (Release) or seen
		// freed through the watch, and a copy job's end.
		WatchesRawSource(r.slots.WakeSource()).
		Watches(&backupv1alpha1.BackupRequest{}, r.slots.SlotFreedHandler(), builder.WithPredicates(admission.SlotFreedPredicate())).
		// Restores share the slots: one leaving InProgress frees a slot too.
		Watches(&backupv1alpha1.RestoreRequest{}, r.slots.SlotFreedHandler(), builder.WithPredicates(admission.SlotFreedPredicate())).
		// A restore that ends no longer holds the backup it read: its retention or
		// deletion, waiting for it, goes on at once.
		Watches(&backupv1alpha1.RestoreRequest{}, r.restoreEndedHandler(), builder.WithPredicates(restoreEnded{})).
		WatchesRawSource(r.jobs.Source()).
		// A dump's run (Job or child process) that ends wakes its backup.
		WatchesRawSource(r.Dumps.Source()).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.MaxConcurrentReconciles}).
		Named("backuprequest").
		Complete(r)
}

// validate refuses a reconciler missing a dependency it cannot run without.
func (r *BackupRequestReconciler) validate() error {
	return requireDependencies("backuprequest",
		dependency{"Client", r.Client != nil},
		dependency{"Recorder", r.Recorder != nil},
		dependency{"Providers", r.Providers != nil},
		dependency{"Slots", r.Slots != nil},
		dependency{"Dumps", r.Dumps != nil},
		dependency{"Clock", r.Clock != nil})
}

// prepare fills defaults and the in-memory parts; copy jobs end with ctx.
func (r *BackupRequestReconciler) prepare(ctx context.Context) {
	r.Options = r.Options.WithDefaults()
	if r.APIReader == nil {
		r.APIReader = r.Client
	}
	r.slots = r.Slots
	r.jobs = copyjob.NewRunner(ctx)
	r.writes = newLastWrites()
	r.locks = &repolock.Locks{Reader: r.APIReader, Client: r.Client, Namespace: r.Options.LockNamespace, Clock: r.Clock}
}
