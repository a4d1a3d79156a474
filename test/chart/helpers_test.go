package chart

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

const (
	release   = "lc2"
	namespace = "lc2-backup-system"
)

// runHelm runs the pinned helm with its home in a temporary directory and returns
// stdout and stderr apart.
func runHelm(args ...string) (string, string, error) {
	cmd := exec.Command(helmBin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(helmHome, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(helmHome, "config"),
		"HELM_DATA_HOME="+filepath.Join(helmHome, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// render runs helm template on the chart with extra arguments (-f, --set) and
// returns the rendered objects.
func render(args ...string) objects {
	out, stderr, err := runHelm(append([]string{"template", release, chartDir, "--namespace", namespace}, args...)...)
	Expect(err).NotTo(HaveOccurred(), stderr)
	return parseObjects(out)
}

// objects is a rendered chart.
type objects []*unstructured.Unstructured

func parseObjects(manifest string) objects {
	var objs objects
	for _, doc := range strings.Split(manifest, "\n---") {
		var m map[string]any
		Expect(yaml.Unmarshal([]byte(doc), &m)).To(Succeed(), doc)
		if len(m) == 0 {
			continue // only comments
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs
}

// ofKind returns the objects of one kind.
func (objs objects) ofKind(kind string) objects {
	var out objects
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// get returns the one object of kind and name, failing the test without it.
func (objs objects) get(kind, name string) *unstructured.Unstructured {
	for _, o := range objs.ofKind(kind) {
		if o.GetName() == name {
			return o
		}
	}
	Fail(fmt.Sprintf("no %s %q in the rendered chart (has %v)", kind, name, objs.names()))
	return nil
}

func (objs objects) names() []string {
	var n []string
	for _, o := range objs {
		n = append(n, o.GetKind()+"/"+o.GetName())
	}
	return n
}

// deployment returns the chart's one Deployment, typed.
func (objs objects) deployment() *appsv1.Deployment {
	ds := objs.ofKind("Deployment")
	Expect(ds).To(HaveLen(1))
	var d appsv1.Deployment
	Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(ds[0].Object, &d)).To(Succeed())
	return &d
}

// manager returns the manager container of a Deployment.
func manager(d *appsv1.Deployment) corev1.Container {
	Expect(d.Spec.Template.Spec.Containers).To(HaveLen(1))
	c := d.Spec.Template.Spec.Containers[0]
	Expect(c.Name).To(Equal("manager"))
	return c
}

// envOf maps the container's plain environment variables to their values; ok is
// false for a variable that is absent.
func envOf(c corev1.Container) map[string]corev1.EnvVar {
	m := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		Expect(m).NotTo(HaveKey(e.Name), "environment variable set twice")
		m[e.Name] = e
	}
	return m
}

// argsOf maps --name=value arguments to their values (a bare --name is "true").
func argsOf(args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		Expect(a).To(HavePrefix("--"))
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok {
			value = "true"
		}
		Expect(m).NotTo(HaveKey(name), "argument given twice")
		m[name] = value
	}
	return m
}

// readYAML reads a YAML file into a map.
func readYAML(path string) map[string]any {
	b, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	var m map[string]any
	Expect(yaml.Unmarshal(b, &m)).To(Succeed())
	return m
}

// readObjects reads a (multi-document) YAML file of Kubernetes objects.
func readObjects(path string) objects {
	b, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	return parseObjects(string(b))
}

// lookup returns the value at a dotted path of a values map, and whether it exists.
func lookup(values map[string]any, path string) (any, bool) {
	var cur any = values
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// scalar formats a YAML value the way the chart writes it into the manifest: numbers
// in plain decimal (YAML numbers arrive as float64), lists comma-separated (as
// PROVIDERS), the rest with %v.
func scalar(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		items := make([]string, len(v))
		for i, item := range v {
			items[i] = scalar(item)
		}
		return strings.Join(items, ",")
	}
	return fmt.Sprint(v)
}

// writeKubeconfig writes a kubeconfig for the envtest API server.
func writeKubeconfig() string {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(clientcmd.WriteToFile(*kc, path)).To(Succeed())
	return path
}
