package azure

import (
	"fmt"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

var _ provider.Describer = (*Provider)(nil)

// Capabilities: Blob Storage only; the database is backed up as a dump.
func (p *Provider) Capabilities() provider.Capabilities { return provider.Capabilities{} }

// BucketTagCommand sets the container metadata that carries tag key (metadata.go maps
// the key). The CLI replaces a container's whole metadata, so the command says to
// repeat the existing entries.
func (p *Provider) BucketTagCommand(bucket, key, value string) string {
	return fmt.Sprintf("az storage container metadata update --account-name %s --name %s --metadata %s=%s <its other metadata, which this command replaces>",
		p.account, bucket, MetadataName(key), value)
}
