package azure

import (
	"crypto/md5"
	"encoding/hex"
	"testing"

	"github.com/liferay/lc2-backup-controller/internal/provider/contract"
)

// TestContract holds the Azure provider, on Azurite, to the expectations every store
// meets. Setup and checks go through a plain azblob client, never through the
// provider. Azure has no database service here and Azurite keeps no blob versions, so
// NewInstance and EnableVersioning stay nil and those groups are skipped (what covers
// them is in docs/azure-provider.md).
func TestContract(t *testing.T) {
	raw := newRawClient(t)
	contract.Run(t, func(t *testing.T) contract.Env {
		return contract.Env{
			Provider: newTestProvider(t, Options{}),
			NewBucket: func(t *testing.T, tags map[string]string) string {
				return raw.newContainer(t, "contract", MetadataFromTags(tags))
			},
			PutObject: func(t *testing.T, bucket, key string, data []byte) {
				t.Helper()
				raw.put(t, bucket, key, data)
			},
			ReadObject: func(t *testing.T, bucket, key string) ([]byte, bool) {
				t.Helper()
				return raw.getIfExists(t, bucket, key)
			},
			// A blob committed from staged ranges keeps its source's Content-MD5, the
			// identity the provider lists as the ETag, whatever the block size.
			LargeCopyETag: func(data []byte, _ int) string {
				sum := md5.Sum(data)
				return hex.EncodeToString(sum[:])
			},
		}
	})
}
