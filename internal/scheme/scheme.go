// Package scheme is the runtime.Scheme of the manager and the kubectl plugin: the
// Kubernetes types and the backup.liferay.cloud API. It is its own package so the
// plugin gets the types without linking the manager.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// Scheme holds the Kubernetes types and the backup.liferay.cloud API.
var Scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(backupv1alpha1.AddToScheme(Scheme))
}
