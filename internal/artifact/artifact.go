// Package artifact holds what the controller reads and writes in the cloud to prove
// ownership of its objects (claim records, ownership tags) and the deletion of listed
// objects, shared by the backup and restore reconcilers so neither reaches into the
// other's files.
package artifact

import (
	"context"
	"fmt"

	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// ReadClaim reads the claim record under prefix; nil when there is none.
func ReadClaim(ctx context.Context, prov provider.Provider, bucket, prefix string) (*layout.Claim, error) {
	data, err := provider.ReadSmallObject(ctx, prov, bucket, layout.ClaimKey(prefix))
	if provider.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	claim, err := layout.ParseClaim(data)
	if err != nil {
		// Unreadable: someone else's object under our claim's name. Never ours.
		return &layout.Claim{BackupID: "unknown (unreadable claim.json)"}, nil
	}
	return claim, nil
}

// ObjectExists reports whether bucket/key exists.
func ObjectExists(ctx context.Context, prov provider.Provider, bucket, key string) (bool, error) {
	rc, err := prov.DownloadObject(ctx, bucket, key)
	if provider.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look for s3://%s/%s: %w", bucket, key, err)
	}
	return true, rc.Close()
}

// DeleteObjects deletes the named keys and counts the call with observe
// (operation name, error), which feeds the controller's cloud-call metrics.
func DeleteObjects(ctx context.Context, prov provider.Provider, bucket string, keys []string, observe func(op string, err error)) error {
	_, err := prov.DeleteObjects(ctx, bucket, keys)
	observe("DeleteObjects", err)
	if err != nil {
		return fmt.Errorf("delete %d objects in s3://%s: %w", len(keys), bucket, err)
	}
	return nil
}
