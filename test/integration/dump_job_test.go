package integration

import (
	"errors"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/dumprun"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
)

// The Job runner's Job, as the API server stores it: envtest runs no kubelet, so the
// Job never runs here; its spec and the reading of its status are what is tested.
var _ = Describe("The dump Job", Ordered, func() {
	const (
		project = "juliet"
		ns      = "proj-juliet-prd"
	)
	var (
		owner  *backupv1alpha1.BackupRequest
		runner *dumprun.JobRunner
		task   dumprun.Task
	)
	const password = "juliet-db-Password-9"

	BeforeAll(func() {
		projectNamespace(ns, project)
		owner = newBackupRequest(ns, "juliet-dump", project, backups.Full("juliet-prd-db", "juliet-dl", "juliet-backups", "juliet/prd/1/"))
		Expect(k8sClient.Create(suiteCtx, owner)).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "juliet-db"},
			StringData: map[string]string{"host": "db.juliet", "database": "lportal", "user": "liferay", "password": password}})).To(Succeed())
		runner = &dumprun.JobRunner{Client: k8sClient, Scheme: scheme, Image: "registry.example/lc2-dumper:1.2.3", ServiceAccountName: "lc2-dumper"}
		task = dumprun.Task{
			Owner: owner, Name: "lc2-dump-" + string(owner.UID), Args: []string{"backup"}, Deadline: 90 * time.Minute,
			Env: []corev1.EnvVar{
				{Name: dump.EnvBucket, Value: "juliet-backups"},
				{Name: dump.EnvPassword, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "juliet-db"}, Key: "password"}}},
			},
		}
	})

	getJob := func() *batchv1.Job {
		GinkgoHelper()
		job := &batchv1.Job{}
		Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: task.Name}, job)).To(Succeed())
		return job
	}

	It("is created once, with the image, the Secret by reference, the owner, the deadline, resources and the restricted profile", func() {
		Expect(runner.Start(suiteCtx, task)).To(Succeed())
		Expect(runner.Start(suiteCtx, task)).To(Succeed(), "a second start finds the Job it made")
		job := getJob()
		Expect(job.Spec.BackoffLimit).To(Equal(ptr.To[int32](0)), "the controller decides retries")
		Expect(job.Spec.ActiveDeadlineSeconds).To(Equal(ptr.To[int64](5400)))
		Expect(job.OwnerReferences).To(ConsistOf(And(
			HaveField("UID", owner.UID), HaveField("Kind", "BackupRequest"), HaveField("Controller", ptr.To(true)))))
		Expect(job.Labels).To(HaveKeyWithValue(dumprun.LabelDumpOf, string(owner.UID)))
		pod := job.Spec.Template.Spec
		Expect(pod.RestartPolicy).To(Equal(corev1.RestartPolicyNever))
		Expect(pod.ServiceAccountName).To(Equal("lc2-dumper"))
		Expect(pod.AutomountServiceAccountToken).To(Equal(ptr.To(false)))
		Expect(pod.SecurityContext.RunAsNonRoot).To(Equal(ptr.To(true)))
		Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
		Expect(pod.Containers).To(HaveLen(1))
		c := pod.Containers[0]
		Expect(c.Image).To(Equal("registry.example/lc2-dumper:1.2.3"))
		Expect(c.Args).To(Equal([]string{"backup"}))
		Expect(c.SecurityContext.AllowPrivilegeEscalation).To(Equal(ptr.To(false)))
		Expect(c.SecurityContext.ReadOnlyRootFilesystem).To(Equal(ptr.To(true)))
		Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
		Expect(c.Resources.Limits.Memory().Cmp(resource.MustParse("512Mi"))).To(Equal(0))
		Expect(c.Resources.Requests.Cpu().Cmp(resource.MustParse("250m"))).To(Equal(0))
		Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: dump.EnvPassword, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "juliet-db"}, Key: "password"}}}))
		stored, err := yamlOf(job)
		Expect(err).NotTo(HaveOccurred())
		Expect(stored).NotTo(ContainSubstring(password), "no secret value anywhere in the Job")
	})

	It("refuses to start without an image, saying what to set", func() {
		unset := *runner
		unset.Image = ""
		err := unset.Start(suiteCtx, task)
		var notConfigured *dumprun.NotConfiguredError
		Expect(errors.As(err, &notConfigured)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("dumper.image"))
	})

	It("reads Running, then Succeeded from the Job's conditions", func() {
		outcome, err := runner.Outcome(suiteCtx, task)
		Expect(err).NotTo(HaveOccurred())
		Expect(outcome.State).To(Equal(dumprun.StateRunning))
		finishJob(getJob(), batchv1.JobComplete)
		outcome, err = runner.Outcome(suiteCtx, task)
		Expect(err).NotTo(HaveOccurred())
		Expect(outcome.State).To(Equal(dumprun.StateSucceeded))
	})

	It("reads a failed Job as Failed with its reason, and deletes only a Job its owner controls", func() {
		failed := task
		failed.Name = task.Name + "-f"
		Expect(runner.Start(suiteCtx, failed)).To(Succeed())
		finishJob(getJobNamed(ns, failed.Name), batchv1.JobFailed)
		outcome, err := runner.Outcome(suiteCtx, failed)
		Expect(err).NotTo(HaveOccurred())
		Expect(outcome.State).To(Equal(dumprun.StateFailed))
		Expect(outcome.Message).To(ContainSubstring("DeadlineExceeded"))

		// Another backup's runner neither reads nor stops this Job.
		stranger := owner.DeepCopy()
		stranger.UID = "0d1b3e9c-0000-4000-8000-000000000000"
		foreign := failed
		foreign.Owner = stranger
		outcome, err = runner.Outcome(suiteCtx, foreign)
		Expect(err).NotTo(HaveOccurred())
		Expect(outcome.State).To(Equal(dumprun.StateMissing))
		Expect(runner.Stop(suiteCtx, foreign)).To(MatchError(ContainSubstring("is not this backup's")))
		Expect(runner.Start(suiteCtx, foreign)).To(MatchError(ContainSubstring("is not this backup's")))
		getJobNamed(ns, failed.Name)

		Expect(runner.Stop(suiteCtx, failed)).To(Succeed())
		Eventually(func() bool {
			err := k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: failed.Name}, &batchv1.Job{})
			return apierrors.IsNotFound(err)
		}).Should(BeTrue())
		Expect(runner.Stop(suiteCtx, failed)).To(Succeed(), "a missing Job counts as stopped")
		outcome, err = runner.Outcome(suiteCtx, failed)
		Expect(err).NotTo(HaveOccurred())
		Expect(outcome.State).To(Equal(dumprun.StateMissing))
	})
})

func getJobNamed(namespace, name string) *batchv1.Job {
	GinkgoHelper()
	job := &batchv1.Job{}
	Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: namespace, Name: name}, job)).To(Succeed())
	return job
}

// finishJob writes the status a Job controller writes when a Job ends (envtest runs
// no Job controller): the terminal condition and the interim one the API requires
// before it.
func finishJob(job *batchv1.Job, end batchv1.JobConditionType) {
	GinkgoHelper()
	now := metav1.Now()
	job.Status.StartTime = &now
	interim := batchv1.JobSuccessCriteriaMet
	reason := "CompletionsReached"
	if end == batchv1.JobFailed {
		interim, reason = batchv1.JobFailureTarget, "DeadlineExceeded"
	} else {
		job.Status.CompletionTime = &now
		job.Status.Succeeded = 1
	}
	job.Status.Conditions = []batchv1.JobCondition{
		{Type: interim, Status: corev1.ConditionTrue, Reason: reason, Message: "ended", LastTransitionTime: now, LastProbeTime: now},
		{Type: end, Status: corev1.ConditionTrue, Reason: reason, Message: "ended", LastTransitionTime: now, LastProbeTime: now},
	}
	Expect(k8sClient.Status().Update(suiteCtx, job)).To(Succeed())
}

// yamlOf is obj as YAML, to look for a value anywhere in it.
func yamlOf(obj any) (string, error) {
	data, err := yaml.Marshal(obj)
	return string(data), err
}
