package cli

import (
	"strings"
	"testing"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// describe says which setting of the backup's own store is missing, not AWS's.
func TestStoreConfigMissingNamesTheStoresOwnSettings(t *testing.T) {
	none := func(string) string { return "" }
	for store, want := range map[backupv1alpha1.CloudProvider]string{
		backupv1alpha1.ProviderAWS:   "AWS_REGION",
		backupv1alpha1.ProviderAzure: "AZURE_STORAGE_ACCOUNT_URL",
		backupv1alpha1.ProviderLocal: "LOCAL_S3_ENDPOINT",
	} {
		if got := storeConfigMissing(store, none); !strings.Contains(got, want) {
			t.Errorf("%s: %q does not name %s", store, got, want)
		}
	}
	if got := storeConfigMissing(backupv1alpha1.ProviderGCP, none); got != "" {
		t.Errorf("gcp reads Application Default Credentials, nothing is required: %q", got)
	}
	set := func(k string) string {
		return map[string]string{"LOCAL_S3_ENDPOINT": "http://127.0.0.1:7070", "AZURE_STORAGE_ACCOUNT_URL": "http://127.0.0.1:10000/a", "AWS_REGION": "us-east-1"}[k]
	}
	for _, store := range []backupv1alpha1.CloudProvider{backupv1alpha1.ProviderAWS, backupv1alpha1.ProviderAzure, backupv1alpha1.ProviderLocal} {
		if got := storeConfigMissing(store, set); got != "" {
			t.Errorf("%s configured, yet %q", store, got)
		}
	}
}
