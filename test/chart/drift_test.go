package chart

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/liferay/lc2-backup-controller/internal/provider"
	azureprovider "github.com/liferay/lc2-backup-controller/internal/provider/azure"
	"github.com/liferay/lc2-backup-controller/internal/setup"
)

// chartFlag says where the chart keeps one controller flag and how it passes it.
type chartFlag struct {
	flag string
	// path is the key in values.yaml.
	path string
	// env is the environment variable the chart sets (the one the flag defaults to);
	// empty: the chart passes --flag=value.
	env string
	// prefix goes before the value (":" turns a port into a bind address).
	prefix string
	// differs says why the chart's default is not the binary's; empty: they agree.
	differs string
}

// chartFlags lists every flag of the manager (setup.LoadConfig, zap's included) with
// its value in the chart. A flag added to the controller fails "has a value for every
// controller flag" until it gets a line here and a key in values.yaml.
var chartFlags = []chartFlag{
	{flag: "metrics-bind-address", path: "metrics.port", prefix: ":", differs: "the chart serves metrics on :8443 like config/default; the binary serves none by default"},
	{flag: "health-probe-bind-address", path: "healthProbe.port", prefix: ":"},
	{flag: "leader-elect", path: "leaderElection.enabled", differs: "the chart runs 2 replicas with leader election like config/default"},
	{flag: "metrics-secure", path: "metrics.secure"},
	{flag: "enable-http2", path: "metrics.enableHttp2"},
	{flag: "aws-region", path: "aws.region", env: "AWS_REGION"},
	{flag: "aws-endpoint-url", path: "aws.endpointUrl", env: "AWS_ENDPOINT_URL"},
	{flag: "providers", path: "providers", env: "PROVIDERS"},
	{flag: "gcs-endpoint", path: "gcp.endpoint", env: "GCS_ENDPOINT"},
	{flag: "azure-storage-account-url", path: "azure.accountUrl", env: azureprovider.EnvAccountURL},
	{flag: "azure-storage-account", path: "azure.accountName", env: azureprovider.EnvAccountName},
	{flag: "local-s3-endpoint", path: "local.endpoint", env: provider.EnvLocalS3Endpoint},
	{flag: "local-s3-region", path: "local.region", env: provider.EnvLocalS3Region},
	{flag: "max-concurrent-backups-per-project", path: "controller.maxConcurrentBackupsPerProject", env: "MAX_CONCURRENT_BACKUPS_PER_PROJECT"},
	{flag: "backup-retention-days", path: "controller.backupRetentionDays", env: "BACKUP_RETENTION_DAYS"},
	{flag: "project-label-key", path: "controller.projectLabelKey", env: "PROJECT_LABEL_KEY"},
	{flag: "backup-deadline", path: "controller.backupDeadline", env: "BACKUP_DEADLINE"},
	{flag: "snapshot-poll-initial", path: "controller.snapshotPollInitial", env: "SNAPSHOT_POLL_INITIAL"},
	{flag: "snapshot-poll-max", path: "controller.snapshotPollMax", env: "SNAPSHOT_POLL_MAX"},
	{flag: "quota-retry-initial", path: "controller.quotaRetryInitial", env: "QUOTA_RETRY_INITIAL"},
	{flag: "quota-retry-max", path: "controller.quotaRetryMax", env: "QUOTA_RETRY_MAX"},
	{flag: "progress-interval", path: "controller.progressInterval", env: "PROGRESS_INTERVAL"},
	{flag: "manifest-bucket", path: "controller.manifestBucket", env: "MANIFEST_BUCKET"},
	{flag: "copy-concurrency", path: "controller.copyConcurrency", env: "COPY_CONCURRENCY"},
	{flag: "copy-requests-per-second", path: "controller.copyRequestsPerSecond", env: "COPY_REQUESTS_PER_SECOND"},
	{flag: "multipart-threshold-bytes", path: "controller.multipartThresholdBytes", env: "MULTIPART_THRESHOLD_BYTES"},
	{flag: "max-concurrent-reconciles", path: "controller.maxConcurrentReconciles", env: "MAX_CONCURRENT_RECONCILES"},
	{flag: "kube-api-qps", path: "controller.kubeApiQps", env: "KUBE_API_QPS"},
	{flag: "kube-api-burst", path: "controller.kubeApiBurst", env: "KUBE_API_BURST"},
	{flag: "retention-min-kept", path: "controller.retentionMinKept", env: "RETENTION_MIN_KEPT"},
	{flag: "delete-expired-backuprequests", path: "controller.deleteExpiredBackupRequests", env: "DELETE_EXPIRED_BACKUPREQUESTS"},
	{flag: "resource-ownership", path: "controller.resourceOwnership", env: "RESOURCE_OWNERSHIP"},
	{flag: "ownership-tag-key", path: "controller.ownershipTagKey", env: "OWNERSHIP_TAG_KEY"},
	{flag: "schedule-resync", path: "controller.scheduleResync", env: "SCHEDULE_RESYNC"},
	{flag: "dump-runner", path: "dumper.runner", env: "DUMP_RUNNER"},
	{flag: "dumper-image", path: "dumper.image", env: "DUMPER_IMAGE"},
	{flag: "dumper-service-account", path: "dumper.serviceAccount", env: "DUMPER_SERVICE_ACCOUNT"},
	{flag: "dumper-command", path: "dumper.command", env: "DUMPER_COMMAND"},
	{flag: "dump-poll-interval", path: "dumper.pollInterval", env: "DUMP_POLL_INTERVAL"},
	{flag: "dump-instance-endpoints", path: "dumper.instanceEndpoints", env: "DUMP_INSTANCE_ENDPOINTS"},
	{flag: "zap-devel", path: "controller.logging.development"},
	{flag: "zap-encoder", path: "controller.logging.encoder"},
	{flag: "zap-log-level", path: "controller.logging.level"},
	{flag: "zap-stacktrace-level", path: "controller.logging.stacktraceLevel"},
	{flag: "zap-time-encoding", path: "controller.logging.timeEncoding"},
}

// secretEnv is a manager setting that is no flag: a secret LoadConfig reads only from
// its environment, which the chart passes from a Secret (valueFrom.secretKeyRef), never
// as a value.
type secretEnv struct {
	// source is the argument of LoadConfig's os.Getenv call, as written in
	// internal/setup/config.go.
	source string
	// env is the environment variable.
	env string
	// secret and key are the values.yaml paths of the Secret's name and of its key.
	secret, key string
	// read is what LoadConfig made of the variable.
	read func(*setup.Config) string
}

// chartSecretEnv lists every secret setting of the manager. An os.Getenv added to
// internal/setup/config.go fails "passes every setting the manager reads only from its
// environment" until it gets a line here (or in envNotCharted).
var chartSecretEnv = []secretEnv{
	{source: "azureprovider.EnvAccountKey", env: azureprovider.EnvAccountKey, secret: "azure.existingSecret", key: "azure.accountKeyKey",
		read: func(c *setup.Config) string { return c.Azure.AccountKey }},
	{source: "provider.EnvLocalS3AccessKeyID", env: provider.EnvLocalS3AccessKeyID, secret: "local.existingSecret", key: "local.accessKeyIdKey",
		read: func(c *setup.Config) string { return c.Local.AccessKeyID }},
	{source: "provider.EnvLocalS3SecretAccessKey", env: provider.EnvLocalS3SecretAccessKey, secret: "local.existingSecret", key: "local.secretAccessKeyKey",
		read: func(c *setup.Config) string { return c.Local.SecretAccessKey }},
}

// envNotCharted says why the chart has no value for the other variables LoadConfig
// reads with os.Getenv.
var envNotCharted = map[string]string{
	`"AWS_DEFAULT_REGION"`: "the fallback of --aws-region's default; the chart sets AWS_REGION (aws.region)",
	"key":                  "the env* helpers' own read of a flag's variable",
}

// getenvCall finds the arguments of os.Getenv calls.
var getenvCall = regexp.MustCompile(`os\.Getenv\(([^()]+)\)`)

// binaryFlag is one flag as the manager's --help lists it.
type binaryFlag struct {
	name, typ string
	// def is the default --help prints; empty when it prints none (the zero value).
	def string
}

var (
	helpFlag    = regexp.MustCompile(`^  -(\S+)(?: (\S+))?$`)
	helpDefault = regexp.MustCompile(`\(default (.*)\)$`)
)

// managerFlags returns the manager's flags from its own --help (setup.LoadConfig's
// flag set, zap's flags included), with the defaults it has when none of its
// environment variables are set.
func managerFlags() map[string]binaryFlag {
	for _, env := range []string{"METRICS_BIND_ADDRESS", "HEALTH_PROBE_BIND_ADDRESS", "LEADER_ELECT", "METRICS_SECURE", "AWS_DEFAULT_REGION"} {
		unsetForTest(env)
	}
	for _, f := range chartFlags {
		if f.env != "" {
			unsetForTest(f.env)
		}
	}
	// The flag set prints its usage to os.Stderr when it sees -h.
	out, err := os.CreateTemp(GinkgoT().TempDir(), "usage")
	Expect(err).NotTo(HaveOccurred())
	stderr := os.Stderr
	os.Stderr = out
	_, _, err = setup.LoadConfig([]string{"-h"})
	os.Stderr = stderr
	Expect(errors.Is(err, flag.ErrHelp)).To(BeTrue(), "LoadConfig(-h): %v", err)
	usage, err := os.ReadFile(out.Name())
	Expect(err).NotTo(HaveOccurred())

	flags := map[string]binaryFlag{}
	var cur *binaryFlag
	for _, line := range strings.Split(string(usage), "\n") {
		if m := helpFlag.FindStringSubmatch(line); m != nil {
			flags[m[1]] = binaryFlag{name: m[1], typ: m[2]}
			f := flags[m[1]]
			cur = &f
			continue
		}
		if cur != nil {
			if m := helpDefault.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				cur.def = strings.Trim(m[1], `"`)
				flags[cur.name] = *cur
			}
		}
	}
	Expect(len(flags)).To(BeNumerically(">", 20), "parsed the usage:\n%s", usage)
	return flags
}

// unsetForTest unsets an environment variable until the end of the test.
func unsetForTest(key string) {
	if v, ok := os.LookupEnv(key); ok {
		Expect(os.Unsetenv(key)).To(Succeed())
		DeferCleanup(func() { Expect(os.Setenv(key, v)).To(Succeed()) })
	}
}

// setForTest sets an environment variable until the end of the test.
func setForTest(key, value string) {
	old, had := os.LookupEnv(key)
	Expect(os.Setenv(key, value)).To(Succeed())
	DeferCleanup(func() {
		if had {
			Expect(os.Setenv(key, old)).To(Succeed())
		} else {
			Expect(os.Unsetenv(key)).To(Succeed())
		}
	})
}

// rendered returns what the chart passes for f in a rendered manager container, and
// whether it passes anything.
func rendered(c corev1.Container, f chartFlag) (string, bool) {
	if f.env != "" {
		e, ok := envOf(c)[f.env]
		return e.Value, ok
	}
	v, ok := argsOf(c.Args)[f.flag]
	return v, ok
}

// sameValue compares a flag value as the flag package would parse it.
func sameValue(typ, a, b string) bool {
	switch typ {
	case "duration":
		da, errA := time.ParseDuration(a)
		db, errB := time.ParseDuration(b)
		return errA == nil && errB == nil && da == db
	case "int", "float":
		fa, errA := strconv.ParseFloat(a, 64)
		fb, errB := strconv.ParseFloat(b, 64)
		return errA == nil && errB == nil && fa == fb
	case "": // bool
		ba, errA := strconv.ParseBool(a)
		bb, errB := strconv.ParseBool(b)
		return errA == nil && errB == nil && ba == bb
	default:
		return a == b
	}
}

// zero is the value --help leaves out as the default of a flag of type typ.
func zero(typ string) string {
	switch typ {
	case "duration":
		return "0s"
	case "int", "float":
		return "0"
	case "":
		return "false"
	}
	return ""
}

var _ = Describe("The chart against config/ and the controller", func() {
	It("has a value for every controller flag, passes it, and defaults to the controller's own defaults", func() {
		flags := managerFlags()
		var listed []string
		for _, f := range chartFlags {
			listed = append(listed, f.flag)
		}
		var all []string
		for name := range flags {
			all = append(all, name)
		}
		sort.Strings(all)
		Expect(listed).To(ConsistOf(all), "chartFlags (test/chart/drift_test.go) must list exactly the manager's flags")

		defaults := readYAML(filepath.Join(chartDir, "values.yaml"))
		full := readYAML(fullValues)
		defaultManager := manager(render().deployment())
		fullManager := manager(render("-f", fullValues).deployment())
		for _, f := range chartFlags {
			bf := flags[f.flag]
			def, ok := lookup(defaults, f.path)
			Expect(ok).To(BeTrue(), "values.yaml has no %s for --%s", f.path, f.flag)
			want, ok := lookup(full, f.path)
			Expect(ok).To(BeTrue(), "ci/full-values.yaml has no %s for --%s", f.path, f.flag)

			By("--" + f.flag + ": ci/full-values.yaml's " + f.path + " reaches the manager")
			got, ok := rendered(fullManager, f)
			Expect(ok).To(BeTrue(), "--%s is not passed with ci/full-values.yaml", f.flag)
			Expect(got).To(Equal(f.prefix+scalar(want)), "--%s", f.flag)
			if f.flag != "leader-elect" && f.flag != "metrics-secure" { // both true in full-values.yaml: flipped below
				Expect(scalar(want)).NotTo(Equal(scalar(def)), "ci/full-values.yaml must set %s to a value other than the default", f.path)
			}

			By("--" + f.flag + ": the chart's default is the controller's")
			got, ok = rendered(defaultManager, f)
			if !ok {
				Expect(scalar(def)).To(BeEmpty(), "--%s is left out though %s is %v", f.flag, f.path, def)
				continue // the controller's own default applies
			}
			Expect(got).To(Equal(f.prefix + scalar(def)))
			binaryDefault := bf.def
			if binaryDefault == "" {
				binaryDefault = zero(bf.typ)
			}
			if f.differs != "" {
				Expect(sameValue(bf.typ, got, binaryDefault)).To(BeFalse(), "--%s: the chart's default now agrees with the controller; drop the differs note", f.flag)
				continue
			}
			Expect(sameValue(bf.typ, got, binaryDefault)).To(BeTrue(),
				"--%s: the chart's default %q (%s) differs from the controller's %q", f.flag, got, f.path, binaryDefault)
		}

		By("the two booleans full-values.yaml leaves on are passed when off")
		args := argsOf(manager(render("--set", "leaderElection.enabled=false", "--set", "replicaCount=1", "--set", "metrics.secure=false").deployment()).Args)
		Expect(args).To(HaveKeyWithValue("leader-elect", "false"))
		Expect(args).To(HaveKeyWithValue("metrics-secure", "false"))
	})

	It("passes every setting the manager reads only from its environment from a Secret, never as a value", func() {
		src, err := os.ReadFile(filepath.Join("..", "..", "internal", "setup", "config.go"))
		Expect(err).NotTo(HaveOccurred())
		listed := map[string]bool{}
		for _, s := range chartSecretEnv {
			listed[s.source] = true
		}
		for _, m := range getenvCall.FindAllStringSubmatch(string(src), -1) {
			if _, ok := envNotCharted[m[1]]; ok {
				continue
			}
			Expect(listed).To(HaveKey(m[1]), "internal/setup/config.go reads os.Getenv(%s): list it in chartSecretEnv (test/chart/drift_test.go) with its chart values, or in envNotCharted saying why not", m[1])
		}

		for _, f := range chartFlags {
			if f.env != "" {
				unsetForTest(f.env)
			}
		}
		setForTest(setup.EnvEnableArchival, "false")
		defaults := readYAML(filepath.Join(chartDir, "values.yaml"))
		full := readYAML(fullValues)
		defaultEnv := envOf(manager(render().deployment()))
		fullEnv := envOf(manager(render("-f", fullValues).deployment()))
		for _, s := range chartSecretEnv {
			By(s.env + ": LoadConfig reads it")
			setForTest(s.env, "marker-"+s.env)
			c, _, err := setup.LoadConfig(nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(s.read(c)).To(Equal("marker-"+s.env), "LoadConfig does not read %s into the field chartSecretEnv names", s.env)

			By(s.env + ": ci/full-values.yaml's " + s.secret + " and " + s.key + " reach the manager as a secretKeyRef")
			name, ok := lookup(full, s.secret)
			Expect(ok).To(BeTrue(), "ci/full-values.yaml has no %s", s.secret)
			key, ok := lookup(full, s.key)
			Expect(ok).To(BeTrue(), "ci/full-values.yaml has no %s", s.key)
			e, ok := fullEnv[s.env]
			Expect(ok).To(BeTrue(), "%s is not passed with ci/full-values.yaml", s.env)
			Expect(e.Value).To(BeEmpty(), "%s must never be a plain value", s.env)
			Expect(e.ValueFrom).NotTo(BeNil())
			Expect(e.ValueFrom.SecretKeyRef).NotTo(BeNil(), "%s must come from a Secret", s.env)
			Expect(e.ValueFrom.SecretKeyRef.Name).To(Equal(scalar(name)))
			Expect(e.ValueFrom.SecretKeyRef.Key).To(Equal(scalar(key)))
			def, ok := lookup(defaults, s.key)
			Expect(ok).To(BeTrue(), "values.yaml has no %s", s.key)
			Expect(scalar(key)).NotTo(Equal(scalar(def)), "ci/full-values.yaml must set %s to a value other than the default", s.key)

			By(s.env + ": left out by default (" + s.secret + " is empty)")
			def, ok = lookup(defaults, s.secret)
			Expect(ok).To(BeTrue(), "values.yaml has no %s", s.secret)
			Expect(scalar(def)).To(BeEmpty())
			Expect(defaultEnv).NotTo(HaveKey(s.env))
		}
	})

	It("carries exactly the CRDs of config/crd/bases", func() {
		rendered := render().ofKind("CustomResourceDefinition")
		files, err := filepath.Glob(filepath.Join("..", "..", "config", "crd", "bases", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		Expect(rendered).To(HaveLen(len(files)))
		for _, file := range files {
			src := readObjects(file)
			Expect(src).To(HaveLen(1))
			crd := render().get("CustomResourceDefinition", src[0].GetName())
			Expect(crd.Object["spec"]).To(Equal(src[0].Object["spec"]), file)
			Expect(crd.GetAPIVersion()).To(Equal(src[0].GetAPIVersion()))
			for k, v := range src[0].GetAnnotations() {
				Expect(crd.GetAnnotations()).To(HaveKeyWithValue(k, v))
			}
		}
	})

	It("grants exactly the RBAC rules of config/rbac", func() {
		objs := render()
		// config/rbac name -> the chart's name after the release prefix.
		counterpart := map[string]string{
			"manager-role":               "manager",
			"leader-election-role":       "leader-election",
			"metrics-auth-role":          "metrics-auth",
			"metrics-reader":             "metrics-reader",
			"backuprequest-editor-role":  "backuprequest-editor",
			"backuprequest-viewer-role":  "backuprequest-viewer",
			"restorerequest-editor-role": "restorerequest-editor",
			"restorerequest-viewer-role": "restorerequest-viewer",
			"backupschedule-editor-role": "backupschedule-editor",
			"backupschedule-viewer-role": "backupschedule-viewer",
		}
		files, err := filepath.Glob(filepath.Join("..", "..", "config", "rbac", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		seen := 0
		for _, file := range files {
			for _, role := range readObjects(file) {
				if role.GetKind() != "ClusterRole" && role.GetKind() != "Role" {
					continue
				}
				name, ok := counterpart[role.GetName()]
				Expect(ok).To(BeTrue(), "%s in %s has no counterpart in the chart; add it to the chart and to this test", role.GetName(), file)
				got := objs.get(role.GetKind(), "lc2-lc2-backup-controller-"+name)
				Expect(got.Object["rules"]).To(Equal(role.Object["rules"]), "rules of %s (%s)", got.GetName(), file)
				seen++
			}
		}
		Expect(seen).To(Equal(len(counterpart)))
	})

	It("runs the manager as config/manager/manager.yaml does", func() {
		var want appsv1.Deployment
		for _, o := range readObjects(filepath.Join("..", "..", "config", "manager", "manager.yaml")) {
			if o.GetKind() == "Deployment" {
				Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &want)).To(Succeed())
			}
		}
		// config/manager names a region; the chart leaves it to IRSA unless aws.region is set.
		got := render("--set", "aws.region=us-east-1").deployment()
		Expect(got.Spec.Replicas).To(Equal(want.Spec.Replicas))
		wp, gp := want.Spec.Template.Spec, got.Spec.Template.Spec
		Expect(gp.TerminationGracePeriodSeconds).To(Equal(wp.TerminationGracePeriodSeconds))
		Expect(got.Spec.Template.Annotations).To(HaveKeyWithValue("kubectl.kubernetes.io/default-container", "manager"))
		Expect(subset(wp.SecurityContext, gp.SecurityContext)).To(Succeed(), "pod securityContext")

		wc, gc := manager(&want), manager(got)
		Expect(gc.Command).To(Equal(wc.Command))
		Expect(subset(argsOf(wc.Args), argsOf(gc.Args))).To(Succeed(), "args")
		gotEnv := envOf(gc)
		for _, e := range wc.Env {
			Expect(gotEnv).To(HaveKeyWithValue(e.Name, e), "env %s", e.Name)
		}
		Expect(subset(wc.SecurityContext, gc.SecurityContext)).To(Succeed(), "container securityContext")
		Expect(gc.Resources).To(Equal(wc.Resources))
		for _, probe := range []struct{ want, got *corev1.Probe }{{wc.LivenessProbe, gc.LivenessProbe}, {wc.ReadinessProbe, gc.ReadinessProbe}} {
			Expect(probe.got.HTTPGet.Path).To(Equal(probe.want.HTTPGet.Path))
			Expect(containerPort(gc, probe.got.HTTPGet.Port.String())).To(Equal(probe.want.HTTPGet.Port.IntVal))
			Expect(probe.got.InitialDelaySeconds).To(Equal(probe.want.InitialDelaySeconds))
			Expect(probe.got.PeriodSeconds).To(Equal(probe.want.PeriodSeconds))
		}
		for _, p := range wc.Ports {
			Expect(gc.Ports).To(ContainElement(p))
		}
		Expect(gc.VolumeMounts).To(ConsistOf(wc.VolumeMounts))
		Expect(gp.Volumes).To(ConsistOf(wp.Volumes))
	})
})

// containerPort resolves a probe's named port.
func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	Fail("no container port " + name)
	return 0
}

// subset fails when a field set in want is missing from got or differs; got may set more.
func subset(want, got any) error {
	w, err := runtime.DefaultUnstructuredConverter.ToUnstructured(toPointer(want))
	if err != nil {
		return err
	}
	g, err := runtime.DefaultUnstructuredConverter.ToUnstructured(toPointer(got))
	if err != nil {
		return err
	}
	return subsetMap("", w, g)
}

func toPointer(v any) any {
	if reflect.TypeOf(v).Kind() == reflect.Pointer {
		return v
	}
	p := reflect.New(reflect.TypeOf(v))
	p.Elem().Set(reflect.ValueOf(v))
	return p.Interface()
}

func subsetMap(path string, want, got map[string]any) error {
	for k, wv := range want {
		gv, ok := got[k]
		if !ok {
			return fmt.Errorf("%s.%s: missing, want %v", path, k, wv)
		}
		wm, isMap := wv.(map[string]any)
		if gm, gotMap := gv.(map[string]any); isMap && gotMap {
			if err := subsetMap(path+"."+k, wm, gm); err != nil {
				return err
			}
			continue
		}
		if !reflect.DeepEqual(wv, gv) {
			return fmt.Errorf("%s.%s: got %v, want %v", path, k, gv, wv)
		}
	}
	return nil
}
