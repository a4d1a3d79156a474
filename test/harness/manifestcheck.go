package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// manifestChecksumScript is the independent, standard-library-only Python
// implementation of the version 1.1 manifest checksum (docs/manifest.md).
const manifestChecksumScript = "manifest_checksum.py"

// ManifestChecksumScript returns the path of manifest_checksum.py, found next
// to this source file so that tests in any package find it (falling back to
// the repository root above the working directory when the binary was built
// with -trimpath).
func ManifestChecksumScript() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		p := filepath.Join(filepath.Dir(file), manifestChecksumScript)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", manifestChecksumScript, err)
	}
	p := filepath.Join(root, "test", "harness", manifestChecksumScript)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("find %s: %w", manifestChecksumScript, err)
	}
	return p, nil
}

// VerifyManifestInPython recomputes the checksum of a version 1.1 manifest
// with manifest_checksum.py (RFC 8785 canonical form, SHA-256), outside Go,
// and returns an error naming the recorded and the recomputed checksum when
// they differ, or the script's message when it cannot compute one. It needs
// python3 on PATH, like the moto harness. Integration and e2e tests call it
// on every manifest they read, so a checksum that only Go can reproduce
// fails the suite.
func VerifyManifestInPython(data []byte) error {
	script, err := ManifestChecksumScript()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "manifest-*.json")
	if err != nil {
		return fmt.Errorf("verify manifest in Python: %w", err)
	}
	defer func() { _ = os.Remove(f.Name()) }() // best effort: a leftover temp file is harmless
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("verify manifest in Python: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "python3", script, f.Name())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()

	computed, _, _ := strings.Cut(stdout.String(), "  ")
	computed = strings.TrimSpace(computed)
	var top struct {
		Checksum any `json:"checksum"`
	}
	_ = json.Unmarshal(data, &top) // Python reports malformed JSON
	recorded := "(none)"
	if top.Checksum != nil {
		recorded = fmt.Sprint(top.Checksum)
	}
	if computed != "" && recorded != computed {
		return fmt.Errorf("manifest checksum recomputed in Python (RFC 8785) differs: recorded %s, computed %s", recorded, computed)
	}
	if runErr != nil {
		var exit *exec.ExitError
		if errors.As(runErr, &exit) {
			return fmt.Errorf("manifest checksum recomputed in Python: %s exited with %d: %s", manifestChecksumScript, exit.ExitCode(), strings.TrimSpace(stderr.String()))
		}
		return fmt.Errorf("manifest checksum recomputed in Python: run python3 %s: %w", manifestChecksumScript, runErr)
	}
	if computed == "" {
		return fmt.Errorf("manifest checksum recomputed in Python: %s printed no checksum", manifestChecksumScript)
	}
	return nil
}
