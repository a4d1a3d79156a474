package chart

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

var crdGVK = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// The API server (envtest: no kubelet, no controllers) accepts every object; pods never
// start, so helm runs without --wait.
var _ = Describe("Installing the chart on an API server", Ordered, func() {
	var kubeconfig string
	helmOn := func(args ...string) string {
		out, stderr, err := runHelm(append(args, "--kubeconfig", kubeconfig)...)
		Expect(err).NotTo(HaveOccurred(), out+stderr)
		return out
	}
	BeforeAll(func() { kubeconfig = writeKubeconfig() })

	It("installs with the default values, CRDs first, and the CRDs serve BackupRequests", func() {
		helmOn("install", release, chartDir, "--namespace", namespace, "--create-namespace")
		var d appsv1.Deployment
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: namespace, Name: "lc2-lc2-backup-controller"}, &d)).To(Succeed())
		Expect(d.Labels).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "Helm"))
		for _, crd := range render().ofKind("CustomResourceDefinition") {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(crdGVK)
			Expect(k8sClient.Get(ctx, client.ObjectKey{Name: crd.GetName()}, live)).To(Succeed())
			Expect(live.GetAnnotations()).To(HaveKeyWithValue("helm.sh/resource-policy", "keep"))
		}

		By("a project's BackupRequest is accepted by the installed CRD")
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "proj-retail-prd"}})).To(Succeed())
		b, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "backup_v1alpha1_backuprequest.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var br backupv1alpha1.BackupRequest
		Expect(yaml.Unmarshal(b, &br)).To(Succeed())
		Expect(k8sClient.Create(ctx, &br)).To(Succeed())
	})

	It("upgrades to ci/full-values.yaml: ServiceMonitor and PrometheusRule appear, the CRDs are updated in place", func() {
		crdBefore := &unstructured.Unstructured{}
		crdBefore.SetGroupVersionKind(crdGVK)
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "backuprequests.backup.liferay.cloud"}, crdBefore)).To(Succeed())

		// The full values put the Grafana dashboard in the monitoring stack's namespace.
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "monitoring"}})).To(Succeed())
		helmOn("upgrade", release, chartDir, "--namespace", namespace, "-f", fullValues)
		var dashboard corev1.ConfigMap
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: "monitoring", Name: "lc2-backup-full-dashboard"}, &dashboard)).To(Succeed())
		Expect(dashboard.Labels).To(HaveKeyWithValue("example.com/grafana-dashboard", "true"))
		var d appsv1.Deployment
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: namespace, Name: "lc2-backup-full"}, &d)).To(Succeed())
		Expect(*d.Spec.Replicas).To(BeEquivalentTo(3))
		Expect(envOf(d.Spec.Template.Spec.Containers[0])).To(HaveKeyWithValue("RESOURCE_OWNERSHIP", HaveField("Value", "none")))
		var old appsv1.Deployment
		err := k8sClient.Get(ctx, types.NamespacedName{Namespace: namespace, Name: "lc2-lc2-backup-controller"}, &old)
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the renamed Deployment replaces the old one: %v", err)
		for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: kind})
			Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: namespace, Name: "lc2-backup-full"}, u)).To(Succeed(), kind)
		}
		var sa corev1.ServiceAccount
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: namespace, Name: "lc2-backup-sa"}, &sa)).To(Succeed())
		Expect(sa.Annotations).To(HaveKeyWithValue("eks.amazonaws.com/role-arn", "arn:aws:iam::123456789012:role/lc2-backup-controller"))

		crdAfter := &unstructured.Unstructured{}
		crdAfter.SetGroupVersionKind(crdGVK)
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "backuprequests.backup.liferay.cloud"}, crdAfter)).To(Succeed())
		Expect(crdAfter.GetUID()).To(Equal(crdBefore.GetUID()), "the CRD is updated, not recreated")
		Expect(crdAfter.GetLabels()).To(HaveKeyWithValue("app.kubernetes.io/name", "lc2-backup"), "the upgrade reached the CRD")
	})

	It("uninstalls, keeping the CRDs and the BackupRequests", func() {
		helmOn("uninstall", release, "--namespace", namespace)
		var d appsv1.Deployment
		err := k8sClient.Get(ctx, types.NamespacedName{Namespace: namespace, Name: "lc2-backup-full"}, &d)
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the Deployment is removed: %v", err)
		for _, crd := range render().ofKind("CustomResourceDefinition") {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(crdGVK)
			Expect(k8sClient.Get(ctx, client.ObjectKey{Name: crd.GetName()}, live)).To(Succeed(), "CRD %s is kept", crd.GetName())
			Expect(live.GetDeletionTimestamp()).To(BeNil())
		}
		var br backupv1alpha1.BackupRequest
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: "proj-retail-prd", Name: "retail-prd-backup-20251109"}, &br)).To(Succeed())

		By("a reinstall adopts the kept CRDs")
		helmOn("install", release, chartDir, "--namespace", namespace)
		helmOn("uninstall", release, "--namespace", namespace)

		By("with crds.create=false the release holds no CRD")
		helmOn("install", release, chartDir, "--namespace", namespace, "--set", "crds.create=false")
		manifest := helmOn("get", "manifest", release, "--namespace", namespace)
		Expect(parseObjects(manifest).ofKind("CustomResourceDefinition")).To(BeEmpty())
		Expect(parseObjects(manifest).ofKind("Deployment")).To(HaveLen(1))
		helmOn("uninstall", release, "--namespace", namespace)
	})
})
