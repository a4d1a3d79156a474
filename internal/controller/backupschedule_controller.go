package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/schedule"
)

// OrphanFinalizer keeps a BackupSchedule until its backups no longer carry its owner
// reference, so deleting a schedule never garbage-collects its backups (which would
// remove their data).
const OrphanFinalizer = "backup.liferay.cloud/orphan-backups"

// ScheduleMetricsRecorder observes schedules for Prometheus (labels: namespace,
// schedule, project and environment).
type ScheduleMetricsRecorder interface {
	// ScheduleObserved sets the next run, the last success (nil: none yet) and the
	// longest interval between runs.
	ScheduleObserved(s *backupv1alpha1.BackupSchedule, next, lastSuccess *time.Time, interval time.Duration)
	// ScheduleMissed adds n missed runs.
	ScheduleMissed(s *backupv1alpha1.BackupSchedule, n int64)
	// ScheduleForgotten drops the series of a deleted schedule.
	ScheduleForgotten(namespace, name string)
}

// BackupScheduleReconciler creates a BackupRequest at each slot of a BackupSchedule
// and applies its retention. It keeps no timer: each pass computes the due slots
// from the status and the clock, and asks to be requeued at the next slot.
type BackupScheduleReconciler struct {
	client.Client
	// APIReader reads around the cache: a name collision is checked on the stored object.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// Clock is the time source (tests move it to bring slots due).
	Clock clock.PassiveClock
	// Resync bounds how long a pass waits before looking at the clock again, so a
	// clock jump or a lost requeue delays a slot by at most this.
	Resync time.Duration
	// Metrics, if set, observes schedules.
	Metrics ScheduleMetricsRecorder
}

// DefaultScheduleResync is Resync's default.
const DefaultScheduleResync = 5 * time.Minute

// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backupschedules,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backupschedules/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backupschedules/finalizers,verbs=update
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backuprequests,verbs=create

// Reconcile brings one BackupSchedule up to the clock.
func (r *BackupScheduleReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sched := &backupv1alpha1.BackupSchedule{}
	if err := r.Get(ctx, req.NamespacedName, sched); err != nil {
		if client.IgnoreNotFound(err) == nil && r.Metrics != nil {
			r.Metrics.ScheduleForgotten(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	log := ctrl.LoggerFrom(ctx).WithValues("project", sched.Spec.Template.ProjectID, "environment", sched.Spec.Template.Environment)
	ctx = ctrl.LoggerInto(ctx, log)
	if !sched.DeletionTimestamp.IsZero() {
		return r.reconcileScheduleDelete(ctx, sched)
	}
	if _, err := addFinalizer(ctx, r.Client, sched, OrphanFinalizer); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := r.newScheduleScope(sched)
	_, stepErr := runSteps(ctx, s, r.scheduleSteps())
	if err := s.close(ctx, storeOf(r, r.APIReader), s.sched, nil); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if stepErr != nil {
		return ctrl.Result{}, stepErr
	}
	return ctrl.Result{RequeueAfter: r.untilNextSlot(s)}, nil
}

// scheduleSteps are the steps of a pass, in order; each owns part of the status.
func (r *BackupScheduleReconciler) scheduleSteps() []func(context.Context, *scheduleScope) (stepResult, error) {
	return []func(context.Context, *scheduleScope) (stepResult, error){
		r.reconcileParse,
		r.reconcileChildren,
		r.reconcileSlot,
		r.reconcileScheduleRetention,
	}
}

// untilNextSlot is when the schedule is looked at again after a pass: at its next
// slot, at most Resync away (whichever step stopped the pass).
func (r *BackupScheduleReconciler) untilNextSlot(s *scheduleScope) time.Duration {
	wait := r.Resync
	if next := s.status().NextScheduleTime; next != nil {
		wait = min(wait, max(next.Sub(s.now), time.Millisecond))
	}
	return wait
}

// scheduleScope is what one pass over a schedule works on, like backupScope: the
// schedule, the pass's time, its parsed cron and its backups. Steps change the status
// in memory; the pass's close stores it in one write, then runs the queued effects.
type scheduleScope struct {
	sched    *backupv1alpha1.BackupSchedule
	now      time.Time
	cron     *schedule.Cron
	children []backupv1alpha1.BackupRequest
	pass[*backupv1alpha1.BackupSchedule]
}

func (r *BackupScheduleReconciler) newScheduleScope(sched *backupv1alpha1.BackupSchedule) *scheduleScope {
	p := newPass(sched, scheduleStatusOf)
	sched.Status.ObservedGeneration = sched.Generation // stored with the pass's status
	return &scheduleScope{sched: sched, pass: p, now: r.Clock.Now()}
}

func (s *scheduleScope) status() *backupv1alpha1.BackupScheduleStatus { return &s.sched.Status }

// reconcileParse reads the schedule and time zone; an invalid one stops the pass
// with Ready False (InvalidSchedule). It owns effectiveSchedule.
func (r *BackupScheduleReconciler) reconcileParse(_ context.Context, s *scheduleScope) (stepResult, error) {
	sched, st := s.sched, s.status()
	c, err := schedule.Parse(sched.Spec.Schedule, sched.Spec.TimeZone, sched.Namespace, sched.Name)
	if err != nil {
		was := st.Condition(backupv1alpha1.ConditionReady)
		st.SetAsInvalid(err.Error(), s.now)
		if was == nil || was.Reason != string(backupv1alpha1.ReasonInvalidSchedule) || was.Message != err.Error() {
			s.after(func() {
				r.recorder().event(sched, nil, corev1.EventTypeWarning, backupv1alpha1.ReasonInvalidSchedule, "Parse", "%s", err.Error())
			})
		}
		return stepResult{}, nil
	}
	s.cron = c
	st.EffectiveSchedule = c.Effective
	return stepDone, nil
}

// reconcileChildren lists the schedule's backups (those it controls) and records the
// unfinished ones and the newest success. It owns active and lastSuccessfulTime.
func (r *BackupScheduleReconciler) reconcileChildren(ctx context.Context, s *scheduleScope) (stepResult, error) {
	var list backupv1alpha1.BackupRequestList
	if err := r.List(ctx, &list, client.InNamespace(s.sched.Namespace), client.MatchingLabels{backupv1alpha1.ScheduleLabel: s.sched.Name}); err != nil {
		return stepResult{}, fmt.Errorf("list backups of schedule %s: %w", s.sched.Name, err)
	}
	st := s.status()
	var active []string
	for i := range list.Items {
		br := &list.Items[i]
		if !metav1.IsControlledBy(br, s.sched) {
			continue
		}
		s.children = append(s.children, *br)
		if !br.Status.Phase.IsTerminal() && br.DeletionTimestamp.IsZero() {
			active = append(active, br.Name)
		}
		if br.Status.Phase == backupv1alpha1.PhaseSucceeded && br.Status.CompletionTime != nil &&
			(st.LastSuccessfulTime == nil || br.Status.CompletionTime.After(st.LastSuccessfulTime.Time)) {
			t := *br.Status.CompletionTime
			st.LastSuccessfulTime = &t
		}
	}
	st.Active = active
	return stepDone, nil
}

// reconcileScheduleDelete removes the schedule's owner reference from each of its
// backups, so the garbage collector leaves them (and their data), then lets the
// schedule go. To remove the backups too, delete them (docs/schedules.md).
func (r *BackupScheduleReconciler) reconcileScheduleDelete(ctx context.Context, sched *backupv1alpha1.BackupSchedule) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(sched, OrphanFinalizer) {
		return ctrl.Result{}, nil
	}
	orphaned, err := r.orphanBackups(ctx, sched)
	if err != nil {
		return ctrl.Result{}, err
	}
	if orphaned > 0 {
		r.recorder().event(sched, nil, corev1.EventTypeNormal, backupv1alpha1.ReasonBackupsOrphaned, "Delete",
			"Schedule deleted: its %d backup(s) stay, with their data; delete them with kubectl delete backuprequests -l %s=%s",
			orphaned, backupv1alpha1.ScheduleLabel, sched.Name)
	}
	if err := removeFinalizer(ctx, r.Client, sched, OrphanFinalizer); err != nil {
		return ctrl.Result{}, err
	}
	if r.Metrics != nil {
		r.Metrics.ScheduleForgotten(sched.Namespace, sched.Name)
	}
	return ctrl.Result{}, nil
}

// orphanBackups removes sched's owner reference from every BackupRequest of the
// namespace that has it (read from the API server, not the cache).
func (r *BackupScheduleReconciler) orphanBackups(ctx context.Context, sched *backupv1alpha1.BackupSchedule) (int, error) {
	var list backupv1alpha1.BackupRequestList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(sched.Namespace), client.MatchingLabels{backupv1alpha1.ScheduleLabel: sched.Name}); err != nil {
		return 0, fmt.Errorf("list backups of schedule %s: %w", sched.Name, err)
	}
	n := 0
	for i := range list.Items {
		br := &list.Items[i]
		refs := withoutOwner(br.OwnerReferences, sched.UID)
		if len(refs) == len(br.OwnerReferences) {
			continue
		}
		original := br.DeepCopy()
		br.OwnerReferences = refs
		if err := r.Patch(ctx, br, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(err) != nil {
			return n, fmt.Errorf("remove the owner reference of %s: %w", br.Name, err)
		}
		n++
	}
	return n, nil
}

// withoutOwner is refs without the reference to uid.
func withoutOwner(refs []metav1.OwnerReference, uid types.UID) []metav1.OwnerReference {
	var out []metav1.OwnerReference
	for _, ref := range refs {
		if ref.UID != uid {
			out = append(out, ref)
		}
	}
	return out
}

// SetupWithManager registers the controller: a schedule is reconciled when its spec
// changes, when it is being deleted, when one of its backups changes phase, and at
// its next slot. It refuses a reconciler missing a required dependency.
func (r *BackupScheduleReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := r.validate(); err != nil {
		return err
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Resync <= 0 {
		r.Resync = DefaultScheduleResync
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&backupv1alpha1.BackupSchedule{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, deletionStarted{}))).
		Owns(&backupv1alpha1.BackupRequest{}, builder.WithPredicates(phaseChanged{})).
		Named("backupschedule").
		Complete(r)
}

// validate refuses a reconciler missing a dependency it cannot run without.
func (r *BackupScheduleReconciler) validate() error {
	return requireDependencies("backupschedule",
		dependency{"Client", r.Client != nil},
		dependency{"Recorder", r.Recorder != nil},
		dependency{"Clock", r.Clock != nil})
}

// deletionStarted passes updates that set the deletion timestamp.
type deletionStarted struct{ predicate.Funcs }

func (deletionStarted) Update(e event.UpdateEvent) bool {
	return e.ObjectOld.GetDeletionTimestamp().IsZero() && !e.ObjectNew.GetDeletionTimestamp().IsZero()
}
