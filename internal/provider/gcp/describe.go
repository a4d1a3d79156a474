package gcp

import (
	"fmt"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

var _ provider.Describer = (*Provider)(nil)

// Capabilities: Cloud Storage only; the database is backed up as a dump.
func (p *Provider) Capabilities() provider.Capabilities { return provider.Capabilities{} }

// BucketTagCommand sets the bucket label that carries tag key (labels.go maps the key);
// --update-labels keeps the bucket's other labels.
func (p *Provider) BucketTagCommand(bucket, key, value string) string {
	label, err := LabelKey(key)
	if err != nil {
		return fmt.Sprintf("the tag key %s cannot be a bucket label (%v): choose another --ownership-tag-key", key, err)
	}
	return fmt.Sprintf("gcloud storage buckets update gs://%s --update-labels=%s=%s", bucket, label, value)
}
