package dumprun

import (
	"context"
	"fmt"
	"maps"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Labels of a dump Job: the owner's UID (a name may be longer than a label value)
// and the marker that the controller made it.
const (
	LabelDumpOf    = "backup.liferay.cloud/dump-of-uid"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "lc2-backup-controller"
	containerName  = "dump"
)

// JobRunner runs the dumper as a Kubernetes Job in the owner's namespace, owned by it
// (deleted with it), never retried by Kubernetes (backoffLimit 0: the controller
// decides), with the restricted security profile and the Secret's keys through
// valueFrom, so no secret is in the Job's spec.
type JobRunner struct {
	// Client creates, reads and deletes Jobs; Scheme sets their owner references.
	Client client.Client
	Scheme *runtime.Scheme
	// Cache is watched for Jobs that end, to wake their owners.
	Cache cache.Cache
	// Owner is an empty object of the owners' kind (a BackupRequest), for the watch.
	OwnerType client.Object

	// Image is the dumper image; ImagePullPolicy its pull policy ("" : the cluster's default).
	Image           string
	ImagePullPolicy corev1.PullPolicy
	// Command is the dumper's executable in the image; nil: ["/lc2-dump"].
	Command []string
	// ServiceAccountName is the account the dumper runs as (its cloud identity, for
	// the store: IRSA, GKE or Azure workload identity); "": the namespace's default.
	ServiceAccountName string
	// Resources are the container's requests and limits; empty: DefaultResources.
	Resources corev1.ResourceRequirements
}

// DefaultResources are a dumper's requests and limits: the dump is one stream, so a
// core and a bounded memory (the uploader holds a few parts) are enough.
func DefaultResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
}

// podLabels are the labels of t's pod: t's own, then the run's identity, which they
// cannot replace.
func podLabels(t Task) map[string]string {
	labels := maps.Clone(t.PodLabels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelDumpOf], labels[LabelManagedBy] = string(t.Owner.GetUID()), ManagedBy
	return labels
}

// Job is the Job that runs t.
func (j *JobRunner) Job(t Task) (*batchv1.Job, error) {
	command := j.Command
	if command == nil {
		command = []string{"/lc2-dump"}
	}
	resources := j.Resources
	if resources.Requests == nil && resources.Limits == nil {
		resources = DefaultResources()
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: t.Name, Namespace: t.Owner.GetNamespace(),
			Labels: map[string]string{LabelDumpOf: string(t.Owner.GetUID()), LabelManagedBy: ManagedBy},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels(t)},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ServiceAccountName:           j.ServiceAccountName,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name: containerName, Image: j.Image, ImagePullPolicy: j.ImagePullPolicy,
						Command: command, Args: t.Args, Env: t.Env, Resources: resources,
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							RunAsNonRoot:             ptr.To(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
						// The MySQL client's option file and nothing else: the dump streams.
						VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
					}},
					Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{
						EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("16Mi"))}}}},
				},
			},
		},
	}
	if t.Deadline > 0 {
		job.Spec.ActiveDeadlineSeconds = ptr.To(int64(t.Deadline / time.Second))
	}
	if err := controllerutil.SetControllerReference(t.Owner, job, j.Scheme); err != nil {
		return nil, fmt.Errorf("own dump job %s: %w", t.Name, err)
	}
	return job, nil
}

// Start creates the Job of t unless it exists; an existing Job the owner does not
// own is a conflict, never adopted.
func (j *JobRunner) Start(ctx context.Context, t Task) error {
	if j.Image == "" {
		return &NotConfiguredError{What: "no dumper image (--dumper-image, DUMPER_IMAGE; the chart's dumper.image)"}
	}
	job, err := j.Job(t)
	if err != nil {
		return err
	}
	err = j.Client.Create(ctx, job)
	if apierrors.IsAlreadyExists(err) {
		existing, getErr := j.get(ctx, t)
		if getErr != nil {
			return getErr
		}
		if existing == nil || !metav1.IsControlledBy(existing, t.Owner) {
			return fmt.Errorf("create dump job %s/%s: a Job of that name exists and is not this backup's", job.Namespace, job.Name)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("create dump job %s/%s: %w", job.Namespace, job.Name, err)
	}
	return nil
}

func (j *JobRunner) get(ctx context.Context, t Task) (*batchv1.Job, error) {
	job := &batchv1.Job{}
	err := j.Client.Get(ctx, client.ObjectKey{Namespace: t.Owner.GetNamespace(), Name: t.Name}, job)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get dump job %s/%s: %w", t.Owner.GetNamespace(), t.Name, err)
	}
	return job, nil
}

// Outcome reads the Job's conditions: Complete is Succeeded, Failed (the process
// exited non-zero, or the deadline passed) is Failed with the Job's reason.
func (j *JobRunner) Outcome(ctx context.Context, t Task) (Outcome, error) {
	job, err := j.get(ctx, t)
	if err != nil {
		return Outcome{}, err
	}
	if job == nil || !metav1.IsControlledBy(job, t.Owner) {
		return Outcome{State: StateMissing}, nil
	}
	return jobOutcome(job), nil
}

func jobOutcome(job *batchv1.Job) Outcome {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return Outcome{State: StateSucceeded}
		case batchv1.JobFailed:
			return Outcome{State: StateFailed, ExitCode: -1, Message: fmt.Sprintf("job %s failed (%s): %s", job.Name, c.Reason, c.Message)}
		}
	}
	return Outcome{State: StateRunning}
}

// Stop deletes the Job of t (its pod gets SIGTERM, and the dumper aborts its
// upload), only when t.Owner controls it.
func (j *JobRunner) Stop(ctx context.Context, t Task) error {
	job, err := j.get(ctx, t)
	if err != nil || job == nil {
		return err
	}
	if !metav1.IsControlledBy(job, t.Owner) {
		return fmt.Errorf("stop dump job %s/%s: it is not this backup's", job.Namespace, job.Name)
	}
	err = j.Client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &job.UID})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete dump job %s/%s: %w", job.Namespace, job.Name, err)
	}
	return nil
}

// Source wakes a Job's owner when the Job ends (its Complete or Failed condition
// turns True).
func (j *JobRunner) Source() source.TypedSource[reconcile.Request] {
	return source.Kind(j.Cache, client.Object(&batchv1.Job{}),
		handler.EnqueueRequestForOwner(j.Scheme, j.Client.RESTMapper(), j.OwnerType, handler.OnlyControllerOwner()),
		predicate.Funcs{
			CreateFunc: func(e event.CreateEvent) bool { return jobOutcome(e.Object.(*batchv1.Job)).Ended() },
			UpdateFunc: func(e event.UpdateEvent) bool {
				return !jobOutcome(e.ObjectOld.(*batchv1.Job)).Ended() && jobOutcome(e.ObjectNew.(*batchv1.Job)).Ended()
			},
			DeleteFunc:  func(event.DeleteEvent) bool { return true },
			GenericFunc: func(event.GenericEvent) bool { return false },
		})
}
