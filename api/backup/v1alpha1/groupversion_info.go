// Package v1alpha1 contains the API of the backup.liferay.cloud group, version v1alpha1.
// +kubebuilder:object:generate=true
// +groupName=backup.liferay.cloud
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the objects in this package.
	GroupVersion = schema.GroupVersion{Group: "backup.liferay.cloud", Version: "v1alpha1"}

	// SchemeBuilder adds the types of this package to a scheme. It is apimachinery's
	// builder, not controller-runtime's (deprecated there: an API package should not
	// pull in controller-runtime).
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// addKnownTypes registers the kinds of this group-version and the meta/v1 types
// (options, Status, WatchEvent) every group-version serves.
func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&BackupRequest{}, &BackupRequestList{},
		&RestoreRequest{}, &RestoreRequestList{},
		&BackupSchedule{}, &BackupScheduleList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
