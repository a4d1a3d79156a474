package chart

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The alerts of docs/operations.md, under the chart's names.
var alertNames = []string{
	"LC2BackupFailed", "LC2NoRecentSuccessfulBackup", "LC2BackupScheduleLate", "LC2BackupScheduleNeverSucceeded",
	"LC2BackupScheduleMissedRuns", "LC2BackupQueueStuck", "LC2BackupCleanupFailing", "LC2ArchivalBacklog",
}

var _ = Describe("Rendering the chart", func() {
	It("renders the default values: CRDs kept on uninstall, RBAC, a locked-down manager, an authenticated metrics Service, no monitoring objects", func() {
		objs := render()
		Expect(objs.ofKind("CustomResourceDefinition")).To(HaveLen(3))
		for _, crd := range objs.ofKind("CustomResourceDefinition") {
			Expect(crd.GetAnnotations()).To(HaveKeyWithValue("helm.sh/resource-policy", "keep"), crd.GetName())
			Expect(crd.GetLabels()).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "Helm"), crd.GetName())
		}
		Expect(objs.ofKind("ServiceMonitor")).To(BeEmpty())
		Expect(objs.ofKind("PrometheusRule")).To(BeEmpty())

		sa := objs.get("ServiceAccount", "lc2-lc2-backup-controller")
		Expect(sa.GetNamespace()).To(Equal(namespace))
		Expect(sa.GetAnnotations()).To(BeEmpty())

		d := objs.deployment()
		Expect(*d.Spec.Replicas).To(BeEquivalentTo(2))
		pod := d.Spec.Template.Spec
		Expect(pod.ServiceAccountName).To(Equal(sa.GetName()))
		Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())
		Expect(*pod.SecurityContext.RunAsUser).To(BeEquivalentTo(65532))
		Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
		c := manager(d)
		Expect(c.Image).To(Equal("lc2-backup-controller:0.1.0"))
		Expect(*c.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())
		Expect(*c.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
		Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
		Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
		Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
		Expect(c.Resources.Limits).To(HaveKey(corev1.ResourceMemory))
		Expect(c.Resources.Requests).To(HaveKey(corev1.ResourceCPU))
		args := argsOf(c.Args)
		Expect(args).To(HaveKeyWithValue("leader-elect", "true"))
		Expect(args).To(HaveKeyWithValue("metrics-bind-address", ":8443"))
		Expect(args).To(HaveKeyWithValue("metrics-secure", "true"))
		env := envOf(c)
		Expect(env).NotTo(HaveKey("AWS_REGION"), "the region comes from IRSA or the default chain unless aws.region is set")
		Expect(env).NotTo(HaveKey("AWS_ENDPOINT_URL"))
		Expect(env["ENABLE_ARCHIVAL"].Value).To(Equal("true"))
		Expect(env["DB_PASSWORD_FILE"].Value).To(Equal("/var/run/secrets/backup-history/password"))
		Expect(env).NotTo(HaveKey("DB_PASSWORD"), "the password is a mounted file, never an environment value")
		Expect(pod.Volumes).To(ContainElement(HaveField("Secret.SecretName", "backup-history-db")))

		By("the metrics Service is HTTPS on 8443 with the authentication and reader roles")
		svc := objs.get("Service", "lc2-lc2-backup-controller-metrics")
		ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
		Expect(ports).To(ConsistOf(And(HaveKeyWithValue("name", "https"), HaveKeyWithValue("port", BeEquivalentTo(8443)))))
		selector, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
		Expect(d.Spec.Template.Labels).To(Equal(mergeMaps(d.Spec.Template.Labels, selector)), "the Service selects the manager's pods")
		auth := objs.get("ClusterRole", "lc2-lc2-backup-controller-metrics-auth")
		Expect(auth.Object["rules"]).To(ContainElement(HaveKeyWithValue("resources", ConsistOf("tokenreviews"))))
		Expect(auth.Object["rules"]).To(ContainElement(HaveKeyWithValue("resources", ConsistOf("subjectaccessreviews"))))
		objs.get("ClusterRoleBinding", "lc2-lc2-backup-controller-metrics-auth")
		objs.get("ClusterRole", "lc2-lc2-backup-controller-metrics-reader")

		By("RBAC has no wildcards")
		for _, kind := range []string{"ClusterRole", "Role"} {
			for _, r := range objs.ofKind(kind) {
				rules, _, _ := unstructured.NestedSlice(r.Object, "rules")
				for _, rule := range rules {
					Expect(rule).NotTo(HaveKeyWithValue("verbs", ContainElement("*")), r.GetName())
					Expect(rule).NotTo(HaveKeyWithValue("resources", ContainElement("*")), r.GetName())
				}
			}
		}
	})

	It("renders every option of ci/full-values.yaml into the objects", func() {
		objs := render("-f", fullValues)

		sa := objs.get("ServiceAccount", "lc2-backup-sa")
		Expect(sa.GetAnnotations()).To(HaveKeyWithValue("eks.amazonaws.com/role-arn", "arn:aws:iam::123456789012:role/lc2-backup-controller"))
		d := objs.deployment()
		Expect(d.Name).To(Equal("lc2-backup-full"))
		Expect(*d.Spec.Replicas).To(BeEquivalentTo(3))
		pod := d.Spec.Template.Spec
		Expect(pod.ServiceAccountName).To(Equal("lc2-backup-sa"))
		Expect(pod.ImagePullSecrets).To(ConsistOf(corev1.LocalObjectReference{Name: "registry-pull"}))
		Expect(pod.PriorityClassName).To(Equal("lc2-platform-critical"))
		Expect(pod.NodeSelector).To(Equal(map[string]string{"kubernetes.io/os": "linux"}))
		Expect(pod.Tolerations).To(ConsistOf(HaveField("Key", "dedicated")))
		Expect(pod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution).To(HaveLen(1))
		Expect(*pod.SecurityContext.RunAsUser).To(BeEquivalentTo(10001))
		Expect(d.Spec.Template.Annotations).To(HaveKeyWithValue("example.com/scrape", "false"))
		Expect(d.Spec.Template.Labels).To(HaveKeyWithValue("team", "platform"))
		c := manager(d)
		Expect(c.Image).To(Equal("registry.example.com/platform/lc2-backup-controller:v9.8.7"))
		Expect(c.ImagePullPolicy).To(Equal(corev1.PullAlways))
		Expect(c.Resources.Limits.Memory().String()).To(Equal("1Gi"))
		Expect(c.Ports).To(ContainElement(And(HaveField("Name", "metrics"), HaveField("ContainerPort", BeEquivalentTo(9443)))))
		Expect(c.LivenessProbe.HTTPGet.Port.String()).To(Equal("health"))
		Expect(c.Ports).To(ContainElement(And(HaveField("Name", "health"), HaveField("ContainerPort", BeEquivalentTo(9081)))))
		env := envOf(c)
		Expect(env["AWS_REGION"].Value).To(Equal("eu-central-1"))
		Expect(env["AWS_ENDPOINT_URL"].Value).To(Equal("http://aws-emulator.test:5000"))
		Expect(env["DB_HOST"].Value).To(Equal("history.db.example.com"))
		Expect(env["DB_PORT"].Value).To(Equal("6543"))
		Expect(env["DB_SSL_MODE"].Value).To(Equal("verify-full"))
		Expect(env["AWS_MAX_ATTEMPTS"].Value).To(Equal("12"))
		Expect(env["EXTRA_FROM_SECRET"].ValueFrom.SecretKeyRef.Name).To(Equal("extra"))
		Expect(pod.Volumes).To(ContainElement(And(
			HaveField("Secret.SecretName", "history-full"),
			HaveField("Secret.Items", ConsistOf(corev1.KeyToPath{Key: "pw", Path: "password"})))))
		// Every controller flag's value is checked in drift_test.go.

		By("the ServiceMonitor scrapes the metrics Service over HTTPS with Prometheus' token")
		sm := objs.get("ServiceMonitor", "lc2-backup-full")
		Expect(sm.GetLabels()).To(HaveKeyWithValue("release", "kube-prometheus-stack"))
		endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		Expect(endpoints).To(ConsistOf(And(
			HaveKeyWithValue("port", "https"), HaveKeyWithValue("scheme", "https"), HaveKeyWithValue("interval", "45s"),
			HaveKeyWithValue("bearerTokenFile", "/var/run/secrets/kubernetes.io/serviceaccount/token"),
			HaveKeyWithValue("tlsConfig", HaveKeyWithValue("insecureSkipVerify", false)))))
		smSelector, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
		svc := objs.get("Service", "lc2-backup-full-metrics")
		Expect(svc.GetLabels()).To(Equal(mergeMaps(svc.GetLabels(), smSelector)), "the ServiceMonitor selects the metrics Service")

		By("the PrometheusRule carries every alert with the configured thresholds")
		rules := alertRules(objs.get("PrometheusRule", "lc2-backup-full"))
		Expect(rules).To(HaveLen(len(alertNames)))
		for _, name := range alertNames {
			Expect(rules).To(HaveKey(name))
		}
		Expect(rules["LC2NoRecentSuccessfulBackup"]["expr"]).To(ContainSubstring("> 30 * 3600"))
		Expect(rules["LC2BackupScheduleLate"]["expr"]).To(ContainSubstring("> 2 * backup_schedule_expected_interval_seconds"))
		Expect(rules["LC2BackupCleanupFailing"]["expr"]).To(HaveSuffix("> 5"))
		Expect(rules["LC2ArchivalBacklog"]["for"]).To(Equal("45m"))
		Expect(rules["LC2BackupFailed"]["labels"]).To(HaveKeyWithValue("severity", "critical"))
		Expect(rules["LC2BackupFailed"]["annotations"]).To(HaveKeyWithValue("summary", ContainSubstring("{{ $labels.project_id }}/{{ $labels.environment }}")),
			"Prometheus' own template reaches the rule, not rendered by Helm")
	})

	It("leaves the CRDs out with crds.create=false, and the password file out with a DATABASE_URL or archival off", func() {
		objs := render("--set", "crds.create=false")
		Expect(objs.ofKind("CustomResourceDefinition")).To(BeEmpty())
		Expect(objs.ofKind("Deployment")).To(HaveLen(1))

		By("a DATABASE_URL from the Secret")
		c := manager(render("--set", "historyDatabase.existingSecret=history-dsn", "--set", "historyDatabase.urlKey=dsn").deployment())
		env := envOf(c)
		Expect(env["DATABASE_URL"].ValueFrom.SecretKeyRef.Name).To(Equal("history-dsn"))
		Expect(env["DATABASE_URL"].ValueFrom.SecretKeyRef.Key).To(Equal("dsn"))
		Expect(env).NotTo(HaveKey("DB_PASSWORD_FILE"))
		Expect(env).NotTo(HaveKey("DB_HOST"))
		Expect(c.VolumeMounts).To(ConsistOf(HaveField("MountPath", "/tmp")))

		By("archival off")
		d := render("--set", "historyDatabase.enabled=false").deployment()
		env = envOf(manager(d))
		Expect(env["ENABLE_ARCHIVAL"].Value).To(Equal("false"))
		Expect(env).NotTo(HaveKey("DB_HOST"))
		Expect(d.Spec.Template.Spec.Volumes).To(ConsistOf(HaveField("Name", "tmp")))

		By("plain HTTP metrics: no authentication roles, port named http")
		objs = render("--set", "metrics.secure=false", "--set", "metrics.serviceMonitor.enabled=true")
		Expect(objs.names()).NotTo(ContainElement(ContainSubstring("metrics-auth")))
		endpoints, _, _ := unstructured.NestedSlice(objs.ofKind("ServiceMonitor")[0].Object, "spec", "endpoints")
		Expect(endpoints).To(ConsistOf(And(HaveKeyWithValue("scheme", "http"), HaveKeyWithValue("port", "http"), Not(HaveKey("tlsConfig")))))
	})

	It("passes providers as PROVIDERS and each store's settings only when set", func() {
		env := envOf(manager(render().deployment()))
		Expect(env["PROVIDERS"].Value).To(Equal("aws"))
		for _, name := range []string{"GCS_ENDPOINT", "AZURE_STORAGE_ACCOUNT_URL", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY",
			"LOCAL_S3_ENDPOINT", "LOCAL_S3_REGION", "LOCAL_S3_ACCESS_KEY_ID", "LOCAL_S3_SECRET_ACCESS_KEY"} {
			Expect(env).NotTo(HaveKey(name), "nothing of a store the default values do not configure")
		}

		env = envOf(manager(render("--set", "providers={gcp,local}", "--set", "local.endpoint=http://minio.storage:9000").deployment()))
		Expect(env["PROVIDERS"].Value).To(Equal("gcp,local"), "in the order listed")
		Expect(env["LOCAL_S3_ENDPOINT"].Value).To(Equal("http://minio.storage:9000"))
		Expect(env).NotTo(HaveKey("GCS_ENDPOINT"), "production GCS takes Application Default Credentials, no endpoint")
		Expect(env).NotTo(HaveKey("LOCAL_S3_ACCESS_KEY_ID"), "no keys without local.existingSecret")

		env = envOf(manager(render("-f", fullValues).deployment()))
		Expect(env["PROVIDERS"].Value).To(Equal("aws,gcp,azure,local"))
	})

	It("passes the Azure shared key and the local store's keys only through secretKeyRef, never as a value", func() {
		objs := render("--set", "providers={azure,local}",
			"--set", "azure.accountUrl=https://acme.blob.core.windows.net", "--set", "azure.existingSecret=azure-storage",
			"--set", "local.endpoint=http://minio.storage:9000", "--set", "local.existingSecret=local-s3")
		env := envOf(manager(objs.deployment()))
		for name, ref := range map[string]corev1.SecretKeySelector{
			"AZURE_STORAGE_KEY":          {LocalObjectReference: corev1.LocalObjectReference{Name: "azure-storage"}, Key: "account-key"},
			"LOCAL_S3_ACCESS_KEY_ID":     {LocalObjectReference: corev1.LocalObjectReference{Name: "local-s3"}, Key: "access-key-id"},
			"LOCAL_S3_SECRET_ACCESS_KEY": {LocalObjectReference: corev1.LocalObjectReference{Name: "local-s3"}, Key: "secret-access-key"},
		} {
			Expect(env).To(HaveKey(name))
			Expect(env[name].Value).To(BeEmpty(), name)
			Expect(env[name].ValueFrom).NotTo(BeNil(), name)
			Expect(env[name].ValueFrom.SecretKeyRef).NotTo(BeNil(), name)
			Expect(*env[name].ValueFrom.SecretKeyRef).To(Equal(ref), name)
		}
		Expect(env["AZURE_STORAGE_ACCOUNT_URL"].Value).To(Equal("https://acme.blob.core.windows.net"))
		Expect(env).NotTo(HaveKey("AZURE_STORAGE_ACCOUNT"), "the account name comes from the URL unless azure.accountName is set")
		Expect(objs.ofKind("Secret")).To(BeEmpty(), "the chart creates no Secret: the keys are the operator's")

		By("the key names are values")
		env = envOf(manager(render("--set", "azure.existingSecret=az", "--set", "azure.accountKeyKey=key1",
			"--set", "local.existingSecret=s3", "--set", "local.accessKeyIdKey=id", "--set", "local.secretAccessKeyKey=secret").deployment()))
		Expect(env["AZURE_STORAGE_KEY"].ValueFrom.SecretKeyRef.Key).To(Equal("key1"))
		Expect(env["LOCAL_S3_ACCESS_KEY_ID"].ValueFrom.SecretKeyRef.Key).To(Equal("id"))
		Expect(env["LOCAL_S3_SECRET_ACCESS_KEY"].ValueFrom.SecretKeyRef.Key).To(Equal("secret"))
	})

	It("renders the workload identity annotations and pod label only when set", func() {
		const gsa = "lc2-backup@lc2-platform.iam.gserviceaccount.com"
		const clientID = "00000000-1111-2222-3333-444444444444"
		d := render().deployment()
		Expect(d.Spec.Template.Labels).NotTo(HaveKey("azure.workload.identity/use"))

		By("GKE: the ServiceAccount annotation, merged with serviceAccount.annotations")
		objs := render("--set", "providers={gcp}", "--set", "gcp.workloadIdentity.serviceAccount="+gsa,
			"--set", "serviceAccount.annotations.example\\.com/team=platform")
		Expect(objs.get("ServiceAccount", "lc2-lc2-backup-controller").GetAnnotations()).To(Equal(map[string]string{
			"iam.gke.io/gcp-service-account": gsa, "example.com/team": "platform"}))
		Expect(objs.deployment().Spec.Template.Labels).NotTo(HaveKey("azure.workload.identity/use"))

		By("Azure: the ServiceAccount annotation and the pod label the webhook selects")
		objs = render("--set", "providers={azure}", "--set", "azure.accountUrl=https://acme.blob.core.windows.net",
			"--set", "azure.workloadIdentity.clientId="+clientID)
		Expect(objs.get("ServiceAccount", "lc2-lc2-backup-controller").GetAnnotations()).To(Equal(map[string]string{
			"azure.workload.identity/client-id": clientID}))
		d = objs.deployment()
		Expect(d.Spec.Template.Labels).To(HaveKeyWithValue("azure.workload.identity/use", "true"))
		Expect(d.Spec.Selector.MatchLabels).NotTo(HaveKey("azure.workload.identity/use"), "the selector is immutable: the label is on the pods only")
		Expect(envOf(manager(d))).NotTo(HaveKey("AZURE_STORAGE_KEY"), "workload identity needs no key")

		By("with an existing ServiceAccount the pod label still renders; the annotation is the operator's")
		objs = render("--set", "serviceAccount.create=false", "--set", "serviceAccount.name=lc2-existing",
			"--set", "azure.workloadIdentity.clientId="+clientID)
		Expect(objs.ofKind("ServiceAccount")).To(BeEmpty())
		Expect(objs.deployment().Spec.Template.Labels).To(HaveKeyWithValue("azure.workload.identity/use", "true"))

		By("ci/full-values.yaml: IRSA, GKE and Azure annotations side by side")
		objs = render("-f", fullValues)
		Expect(objs.get("ServiceAccount", "lc2-backup-sa").GetAnnotations()).To(Equal(map[string]string{
			"eks.amazonaws.com/role-arn":        "arn:aws:iam::123456789012:role/lc2-backup-controller",
			"iam.gke.io/gcp-service-account":    gsa,
			"azure.workload.identity/client-id": clientID,
		}))
		Expect(objs.deployment().Spec.Template.Labels).To(HaveKeyWithValue("azure.workload.identity/use", "true"))
	})

	DescribeTable("the schema and the templates refuse bad values, naming the field",
		func(wantInError string, args ...string) {
			_, stderr, err := runHelm(append([]string{"template", release, chartDir}, args...)...)
			Expect(err).To(HaveOccurred(), "helm template accepted %v", args)
			Expect(stderr).To(ContainSubstring(wantInError))
		},
		Entry("a string for an integer", "at '/replicaCount': got string, want integer", "--set", "replicaCount=two"),
		Entry("an unknown ownership mode", "at '/controller/resourceOwnership': value must be one of 'tags', 'none'", "--set", "controller.resourceOwnership=bogus"),
		Entry("a negative copy concurrency", "at '/controller/copyConcurrency': minimum: got -1, want 0", "--set", "controller.copyConcurrency=-1"),
		Entry("a retention outside 7-365 days", "at '/controller/backupRetentionDays'", "--set", "controller.backupRetentionDays=3"),
		Entry("a duration Go cannot parse", "at '/controller/backupDeadline'", "--set", "controller.backupDeadline=six hours"),
		Entry("a string for a boolean", "at '/metrics/secure': got string, want boolean", "--set-string", "metrics.secure=yes"),
		Entry("an unknown SSL mode", "at '/historyDatabase/sslMode'", "--set", "historyDatabase.sslMode=on"),
		Entry("a misspelt key", "additional properties 'replicas' not allowed", "--set", "replicas=2"),
		Entry("a misspelt nested key", "at '/controller': additional properties 'maxConcurrentBackups' not allowed", "--set", "controller.maxConcurrentBackups=2"),
		Entry("archival without a Secret", "at '/historyDatabase/existingSecret'", "--set", "historyDatabase.existingSecret="),
		Entry("a burst below the QPS", "controller.kubeApiBurst must be at least controller.kubeApiQps", "--set", "controller.kubeApiBurst=10"),
		Entry("replicas without leader election", "replicaCount > 1 needs leaderElection.enabled", "--set", "leaderElection.enabled=false"),
		Entry("a values file with a wrong type", "at '/controller/kubeApiQps': got string, want integer", "-f", filepath.Join("testdata", "bad-values.yaml")),
		Entry("an unknown provider", "at '/providers/1': value must be one of 'aws', 'gcp', 'azure', 'local'", "--set", "providers={aws,oracle}"),
		Entry("a provider listed twice", "at '/providers': items at 0 and 1 are equal", "--set", "providers={aws,aws}"),
		Entry("no provider", "at '/providers': minItems: got 0, want 1", "--set-json", "providers=[]"),
		Entry("providers as one string", "at '/providers': got string, want array", "--set", "providers=aws"),
		Entry("an Azure key as a plain value", "at '/azure': additional properties 'accountKey' not allowed", "--set", "azure.accountKey=c2VjcmV0"),
		Entry("local keys as plain values", "at '/local': additional properties 'accessKeyId' not allowed", "--set", "local.accessKeyId=AKIA"),
		Entry("azure without its account URL", "providers lists azure: set azure.accountUrl", "--set", "providers={azure}"),
		Entry("local without its endpoint", "providers lists local: set local.endpoint", "--set", "providers={aws,local}"),
		Entry("a GKE service account that is no email", "at '/gcp/workloadIdentity/serviceAccount'", "--set", "gcp.workloadIdentity.serviceAccount=lc2-backup"),
		Entry("an Azure client id that is no GUID", "at '/azure/workloadIdentity/clientId'", "--set", "azure.workloadIdentity.clientId=lc2-backup"),
		Entry("a workload identity annotation set twice with two values", "serviceAccount.annotations sets iam.gke.io/gcp-service-account",
			"--set", "gcp.workloadIdentity.serviceAccount=a@p-1.iam.gserviceaccount.com",
			"--set", "serviceAccount.annotations.iam\\.gke\\.io/gcp-service-account=b@p-1.iam.gserviceaccount.com"),
	)

	It("passes helm lint --strict with the default values and with ci/full-values.yaml", func() {
		for _, args := range [][]string{nil, {"-f", fullValues}} {
			out, stderr, err := runHelm(append([]string{"lint", "--strict", chartDir}, args...)...)
			Expect(err).NotTo(HaveOccurred(), out+stderr)
			Expect(out).To(ContainSubstring("1 chart(s) linted, 0 chart(s) failed"))
		}
		By("and fails it on a broken values file, so the check can fail")
		out, stderr, err := runHelm("lint", "--strict", chartDir, "-f", filepath.Join("testdata", "bad-values.yaml"))
		Expect(err).To(HaveOccurred())
		Expect(out + stderr).To(ContainSubstring("kubeApiQps"))
	})

	It("alerts only on metrics the controller exports", func() {
		exported := exportedMetrics()
		Expect(exported).To(ContainElements("backup_requests_total", "backup_archival_pending", "backups_in_progress"), "the metric scan found the registries")
		rules := alertRules(render("-f", fullValues).get("PrometheusRule", "lc2-backup-full"))
		for name, rule := range rules {
			used := metricNames(rule["expr"].(string))
			Expect(used).NotTo(BeEmpty(), name)
			for _, m := range used {
				Expect(exported).To(ContainElement(m), "alert %s uses %s, which the controller does not export", name, m)
			}
		}
	})
})

// alertRules maps alert name to rule in a rendered PrometheusRule.
func alertRules(rule *unstructured.Unstructured) map[string]map[string]any {
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	out := map[string]map[string]any{}
	for _, g := range groups {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			rm := r.(map[string]any)
			out[rm["alert"].(string)] = rm
		}
	}
	return out
}

var (
	// metricDefinition finds the metric names registered in the controller's source:
	// prometheus.*Opts{Name: "..."} and prometheus.NewDesc("...").
	metricDefinition = regexp.MustCompile(`(?:\bName:\s*|NewDesc\(\s*)"([a-zA-Z_:][a-zA-Z0-9_:]*)"`)
	// In PromQL, label matchers, ranges and on/by/without/ignoring groupings name no metric.
	promqlNoise = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\b(?:on|by|without|ignoring|group_left|group_right)\s*\([^)]*\)`)
	identifier  = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
)

// exportedMetrics returns the metric names defined in internal/ (non-test Go files).
func exportedMetrics() []string {
	var names []string
	root := filepath.Join("..", "..", "internal")
	Expect(filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range metricDefinition.FindAllStringSubmatch(string(src), -1) {
			names = append(names, m[1])
		}
		return nil
	})).To(Succeed())
	return names
}

// metricNames returns the metric names a PromQL expression selects: identifiers that
// are neither functions, operators, label names nor durations.
func metricNames(expr string) []string {
	keywords := map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true}
	var names []string
	for _, m := range identifier.FindAllStringSubmatch(promqlNoise.ReplaceAllString(expr, " "), -1) {
		if m[1] != "" || keywords[m[0]] { // a function call or an operator
			continue
		}
		names = append(names, m[0])
	}
	return names
}

// mergeMaps returns a with b's entries added (b wins).
func mergeMaps(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
