package crd

import (
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

var _ = Describe("The deployment in config/default", func() {
	It("renders with kustomize, is locked down, and applies to an API server", func() {
		kubeconfig := writeKubeconfig()
		out, err := exec.Command(kubectlPath(), "kustomize", filepath.Join("..", "..", "config", "default")).Output()
		Expect(err).NotTo(HaveOccurred())
		docs := strings.Split(string(out), "\n---\n")

		var deploy appsv1.Deployment
		var sa corev1.ServiceAccount
		var role rbacv1.ClusterRole
		var applicable []string
		for _, d := range docs {
			var meta struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			Expect(yaml.Unmarshal([]byte(d), &meta)).To(Succeed())
			switch {
			case meta.Kind == "Deployment":
				Expect(yaml.Unmarshal([]byte(d), &deploy)).To(Succeed())
			case meta.Kind == "ServiceAccount":
				Expect(yaml.Unmarshal([]byte(d), &sa)).To(Succeed())
			case meta.Kind == "ClusterRole" && meta.Metadata.Name == "lc2-backup-manager-role":
				Expect(yaml.Unmarshal([]byte(d), &role)).To(Succeed())
			}
			// The ServiceMonitor needs the Prometheus Operator's CRD, which envtest lacks.
			if meta.Kind != "ServiceMonitor" {
				applicable = append(applicable, d)
			}
		}

		By("the manager runs non-root, read-only, with probes, limits and leader election")
		Expect(deploy.Namespace).To(Equal("lc2-backup-system"))
		pod := deploy.Spec.Template.Spec
		Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())
		c := pod.Containers[0]
		Expect(*c.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())
		Expect(*c.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
		Expect(c.SecurityContext.Capabilities.Drop).To(ContainElement(corev1.Capability("ALL")))
		Expect(c.LivenessProbe).NotTo(BeNil())
		Expect(c.ReadinessProbe).NotTo(BeNil())
		Expect(c.Resources.Limits).To(HaveKey(corev1.ResourceMemory))
		Expect(c.Resources.Requests).To(HaveKey(corev1.ResourceCPU))
		Expect(c.Args).To(ContainElement("--leader-elect"))
		Expect(pod.ServiceAccountName).To(Equal(sa.Name))
		Expect(sa.Annotations).To(HaveKey("eks.amazonaws.com/role-arn"))

		By("RBAC is generated from the controller's markers, without wildcards")
		Expect(role.Rules).NotTo(BeEmpty())
		for _, r := range role.Rules {
			Expect(r.Verbs).NotTo(ContainElement("*"))
			Expect(r.Resources).NotTo(ContainElement("*"))
		}

		By("applying it")
		apply := exec.Command(kubectlPath(), "--kubeconfig", kubeconfig, "apply", "-f", "-")
		apply.Stdin = strings.NewReader(strings.Join(applicable, "\n---\n"))
		applied, err := apply.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(applied))
		var got appsv1.Deployment
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: "lc2-backup-system", Name: deploy.Name}, &got)).To(Succeed())
	})
})
