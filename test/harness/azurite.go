package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// Azurite's well-known development account (the same in every Azurite install).
const (
	AzuriteAccountName = "devstoreaccount1"
	AzuriteAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite is a running Azurite blob service (Azure Storage emulator).
type Azurite struct {
	// AccountURL is the development account's blob endpoint,
	// http://127.0.0.1:<port>/devstoreaccount1.
	AccountURL string
	// AccountName and AccountKey are the shared key to authenticate with.
	AccountName, AccountKey string
	proc                    *Process
	logPath                 string
	workspace               string
}

// AzuriteBlobPath finds the azurite-blob binary: $AZURITE_BLOB, else the project-local
// install, created by hack/setup-azurite.sh on first use.
func AzuriteBlobPath() (string, error) {
	return toolPath("AZURITE_BLOB", "setup-azurite.sh", "set up azurite")
}

// StartAzurite starts a fresh, in-memory Azurite blob service on a free loopback port.
// Each call gets an empty emulator, so test packages never see each other's containers.
func StartAzurite(ctx context.Context) (*Azurite, error) {
	server, err := AzuriteBlobPath()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	// In-memory persistence keeps blobs off the disk; whatever else Azurite writes
	// goes to its working directory (it refuses --location with in-memory
	// persistence): a directory of its own.
	workspace, err := os.MkdirTemp("", "azurite-*")
	if err != nil {
		return nil, fmt.Errorf("create azurite workspace: %w", err)
	}
	logFile, err := os.CreateTemp("", "azurite-*.log")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create azurite log: %w", err), os.RemoveAll(workspace))
	}
	cmd := exec.Command(server,
		"--inMemoryPersistence",
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		// The SDK may speak a newer API version than the emulator knows; loose mode
		// ignores headers it does not implement instead of refusing the request.
		"--skipApiVersionCheck", "--loose",
		"--disableTelemetry", "--silent")
	cmd.Dir = workspace
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc, err := StartProcess(cmd)
	_ = logFile.Close() // the child has its own descriptor
	if err != nil {
		return nil, errors.Join(err, os.Remove(logFile.Name()), os.RemoveAll(workspace))
	}
	a := &Azurite{
		AccountURL:  fmt.Sprintf("http://127.0.0.1:%d/%s", port, AzuriteAccountName),
		AccountName: AzuriteAccountName, AccountKey: AzuriteAccountKey,
		proc: proc, logPath: logFile.Name(), workspace: workspace,
	}
	if err := WaitHTTP(ctx, a.AccountURL+"?comp=list", proc, 60*time.Second); err != nil {
		log, _ := os.ReadFile(a.logPath)
		a.Stop()
		return nil, fmt.Errorf("azurite did not start: %w\n%s", err, log)
	}
	return a, nil
}

// Stop ends the emulator and removes its log and workspace.
func (a *Azurite) Stop() {
	if a == nil {
		return
	}
	a.proc.Stop(5 * time.Second)
	_ = os.Remove(a.logPath) // best effort: leftovers in the temp dir are harmless
	_ = os.RemoveAll(a.workspace)
}
