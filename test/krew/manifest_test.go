// Package krew checks the krew plugin manifest hack/krew-package.sh writes from
// plugins/lc2.yaml.tmpl against the rules krew and krew-index apply to a manifest
// (sigs.k8s.io/krew pkg/index/validation: ValidatePlugin, validatePlatform,
// validateSelector; pkg/installation/semver).
package krew

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"
)

// plugin is krew's index.Plugin (apiVersion krew.googlecontainertools.github.com/v1alpha2).
type plugin struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		Version          string     `json:"version,omitempty"`
		ShortDescription string     `json:"shortDescription,omitempty"`
		Description      string     `json:"description,omitempty"`
		Caveats          string     `json:"caveats,omitempty"`
		Homepage         string     `json:"homepage,omitempty"`
		Platforms        []platform `json:"platforms,omitempty"`
	} `json:"spec"`
}

type platform struct {
	URI      string                `json:"uri,omitempty"`
	Sha256   string                `json:"sha256,omitempty"`
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	Files    []struct {
		From string `json:"from,omitempty"`
		To   string `json:"to,omitempty"`
	} `json:"files"`
	Bin string `json:"bin"`
}

var (
	safePluginName = regexp.MustCompile(`^[\w-]+$`)
	validSHA256    = regexp.MustCompile(`^[a-f0-9]{64}$`)
	// Windows refuses these file names; krew refuses them as plugin names.
	windowsForbidden = []string{"CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"}
)

// validate applies krew's ValidatePlugin to p, read from a file named name + ".yaml",
// and krew-index's check that no two platforms select the same os/arch.
func validate(name string, p plugin) error {
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" {
		return fmt.Errorf("apiVersion %q is not krew's v1alpha2", p.APIVersion)
	}
	if p.Kind != "Plugin" {
		return fmt.Errorf("kind %q, want Plugin", p.Kind)
	}
	if !safePluginName.MatchString(name) {
		return fmt.Errorf("plugin name %q does not match %s", name, safePluginName)
	}
	for _, f := range windowsForbidden {
		if strings.EqualFold(f, name) {
			return fmt.Errorf("plugin name %q is a reserved Windows file name", name)
		}
	}
	if p.Name != name {
		return fmt.Errorf("metadata.name %q, but the file is %s.yaml", p.Name, name)
	}
	if p.Spec.ShortDescription == "" {
		return errors.New("spec.shortDescription is empty")
	}
	if len(p.Spec.Platforms) == 0 {
		return errors.New("spec.platforms is empty")
	}
	if !strings.HasPrefix(p.Spec.Version, "v") {
		return fmt.Errorf("spec.version %q does not start with v", p.Spec.Version)
	}
	if _, err := version.ParseSemantic(p.Spec.Version); err != nil {
		return fmt.Errorf("spec.version: %w", err)
	}
	seen := map[string]bool{}
	for i, pl := range p.Spec.Platforms {
		if err := validatePlatform(pl); err != nil {
			return fmt.Errorf("spec.platforms[%d]: %w", i, err)
		}
		key := pl.Selector.MatchLabels["os"] + "/" + pl.Selector.MatchLabels["arch"]
		if seen[key] {
			return fmt.Errorf("spec.platforms[%d]: a second platform for %s", i, key)
		}
		seen[key] = true
	}
	return nil
}

func validatePlatform(p platform) error {
	switch {
	case p.URI == "":
		return errors.New("uri is empty")
	case !validSHA256.MatchString(p.Sha256):
		return fmt.Errorf("sha256 %q does not match %s", p.Sha256, validSHA256)
	case p.Bin == "":
		return errors.New("bin is empty")
	case p.Files != nil && len(p.Files) == 0:
		return errors.New("files has to be unspecified or non-empty")
	}
	for _, f := range p.Files {
		if f.From == "" || f.To == "" {
			return errors.New("files: from and to must be set")
		}
	}
	sel := p.Selector
	if sel == nil || (sel.MatchLabels == nil && len(sel.MatchExpressions) == 0) {
		return errors.New("selector is empty")
	}
	for k := range sel.MatchLabels {
		if k != "os" && k != "arch" {
			return fmt.Errorf("selector key %q: krew knows only os and arch", k)
		}
	}
	for _, e := range sel.MatchExpressions {
		if e.Key != "os" && e.Key != "arch" {
			return fmt.Errorf("selector key %q: krew knows only os and arch", e.Key)
		}
	}
	if sel.MatchLabels != nil && len(sel.MatchLabels) == 0 {
		return errors.New("selector.matchLabels specified but empty")
	}
	return nil
}

var platforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

// fakeArchives writes to dir the archives make krew-package builds, each holding a
// small file named as the platform's binary.
func fakeArchives(t *testing.T, dir, ver string) {
	t.Helper()
	for _, p := range platforms {
		os_, arch, _ := strings.Cut(p, "/")
		bin := "kubectl-lc2"
		if os_ == "windows" {
			bin += ".exe"
		}
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		body := []byte("binary for " + p)
		if err := tw.WriteHeader(&tar.Header{Name: bin, Mode: 0o755, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("kubectl-lc2_%s_%s_%s.tar.gz", ver, os_, arch)), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// archiveFiles lists the files of a tar.gz.
func archiveFiles(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

func renderManifest(t *testing.T, dir, ver string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join("..", "..", "hack", "krew-package.sh"), "--manifest-only", ver, dir)
	cmd.Env = append(os.Environ(), "KREW_URI_BASE=https://example.com/releases/"+ver)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, err
	}
	return os.ReadFile(filepath.Join(dir, "plugins", "lc2.yaml"))
}

func TestKrewManifestFollowsKrewRules(t *testing.T) {
	dir := t.TempDir()
	fakeArchives(t, dir, "v1.2.3")
	raw, err := renderManifest(t, dir, "v1.2.3")
	if err != nil {
		t.Fatalf("krew-package.sh --manifest-only: %v\n%s", err, raw)
	}
	if strings.Contains(string(raw), "${") {
		t.Fatalf("a placeholder is left:\n%s", raw)
	}
	var p plugin
	if err := yaml.UnmarshalStrict(raw, &p); err != nil {
		t.Fatalf("the manifest has a field krew does not know, or is not YAML: %v\n%s", err, raw)
	}
	if err := validate("lc2", p); err != nil {
		t.Fatalf("krew refuses the manifest: %v\n%s", err, raw)
	}
	if p.Spec.Version != "v1.2.3" || p.Spec.Homepage == "" {
		t.Errorf("version %q, homepage %q", p.Spec.Version, p.Spec.Homepage)
	}

	covered := map[string]bool{}
	for _, pl := range p.Spec.Platforms {
		key := pl.Selector.MatchLabels["os"] + "/" + pl.Selector.MatchLabels["arch"]
		covered[key] = true
		name := fmt.Sprintf("kubectl-lc2_v1.2.3_%s_%s.tar.gz", pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"])
		if pl.URI != "https://example.com/releases/v1.2.3/"+name {
			t.Errorf("%s: uri %s", key, pl.URI)
		}
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		if pl.Sha256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: sha256 %s is not the archive's %x", key, pl.Sha256, sum)
		}
		if files := archiveFiles(t, filepath.Join(dir, name)); len(files) != 1 || files[0] != pl.Bin {
			t.Errorf("%s: bin %s, the archive holds %v", key, pl.Bin, files)
		}
	}
	for _, want := range platforms {
		if !covered[want] {
			t.Errorf("no platform for %s", want)
		}
	}
}

func TestKrewManifestRulesCanFail(t *testing.T) {
	dir := t.TempDir()
	fakeArchives(t, dir, "v1.2.3")
	raw, err := renderManifest(t, dir, "v1.2.3")
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	for _, c := range []struct {
		name   string
		break_ func(p *plugin)
		want   string
	}{
		{"version without v", func(p *plugin) { p.Spec.Version = "1.2.3" }, "does not start with v"},
		{"version not semantic", func(p *plugin) { p.Spec.Version = "v1.2" }, "spec.version"},
		{"short sha256", func(p *plugin) { p.Spec.Platforms[0].Sha256 = "abc" }, "sha256"},
		{"upper-case sha256", func(p *plugin) { p.Spec.Platforms[0].Sha256 = strings.ToUpper(p.Spec.Platforms[0].Sha256) }, "sha256"},
		{"no bin", func(p *plugin) { p.Spec.Platforms[1].Bin = "" }, "bin"},
		{"no uri", func(p *plugin) { p.Spec.Platforms[1].URI = "" }, "uri"},
		{"selector key", func(p *plugin) { p.Spec.Platforms[2].Selector.MatchLabels["distro"] = "debian" }, `"distro"`},
		{"no selector", func(p *plugin) { p.Spec.Platforms[2].Selector = nil }, "selector"},
		{"two platforms for one os/arch", func(p *plugin) { p.Spec.Platforms[1].Selector.MatchLabels["arch"] = "amd64" }, "second platform"},
		{"name unlike the file", func(p *plugin) { p.Name = "lc-2" }, "metadata.name"},
		{"no short description", func(p *plugin) { p.Spec.ShortDescription = "" }, "shortDescription"},
	} {
		var p plugin
		if err := yaml.UnmarshalStrict(raw, &p); err != nil {
			t.Fatal(err)
		}
		c.break_(&p)
		if err := validate("lc2", p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}

	if out, err := renderManifest(t, dir, "1.2.3"); err == nil || !strings.Contains(string(out), "v prefix") {
		t.Errorf("krew-package.sh with a version without v: %v %s", err, out)
	}
	if err := os.Remove(filepath.Join(dir, "kubectl-lc2_v1.2.3_darwin_arm64.tar.gz")); err != nil {
		t.Fatal(err)
	}
	if out, err := renderManifest(t, dir, "v1.2.3"); err == nil || !strings.Contains(string(out), "darwin_arm64.tar.gz is missing") {
		t.Errorf("krew-package.sh with an archive missing: %v %s", err, out)
	}
}
