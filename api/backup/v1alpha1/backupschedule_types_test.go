package v1alpha1

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestTemplateHasEveryBackupRequestField keeps BackupTemplateSpec in step with
// BackupRequestSpec: a field added to one and not the other fails here.
func TestTemplateHasEveryBackupRequestField(t *testing.T) {
	pairs := [][2]reflect.Type{
		{reflect.TypeFor[BackupRequestSpec](), reflect.TypeFor[BackupTemplateSpec]()},
		{reflect.TypeFor[DocumentLibraryBackupSpec](), reflect.TypeFor[DocumentLibraryTemplateSpec]()},
	}
	for _, p := range pairs {
		for i := range p[0].NumField() {
			f := p[0].Field(i)
			g, ok := p[1].FieldByName(f.Name)
			if !ok {
				t.Errorf("%s.%s has no counterpart in %s", p[0].Name(), f.Name, p[1].Name())
				continue
			}
			if f.Tag.Get("json") != g.Tag.Get("json") && f.Name != "DestinationPrefix" {
				t.Errorf("%s.%s: json tag %q vs %q", p[0].Name(), f.Name, f.Tag.Get("json"), g.Tag.Get("json"))
			}
		}
	}
}

func TestRequestSpecFromTemplate(t *testing.T) {
	s := &BackupSchedule{ObjectMeta: metav1.ObjectMeta{Name: "nightly"}, Spec: BackupScheduleSpec{Template: BackupTemplateSpec{
		ProjectID: "retail", Environment: "prd",
		DocumentLibrary: &DocumentLibraryTemplateSpec{SourceBucket: "src", DestinationBucket: "dst", ExcludePatterns: []string{"a/**"}},
	}}}
	spec := s.RunSpec("20251109010000")
	if spec.Provider != ProviderAWS || spec.DocumentLibrary.DestinationPrefix != "retail/prd/nightly/20251109010000/" ||
		spec.DocumentLibrary.SourceBucket != "src" || len(spec.DocumentLibrary.ExcludePatterns) != 1 {
		t.Fatalf("%+v %+v", spec, spec.DocumentLibrary)
	}
	spec.DocumentLibrary.ExcludePatterns[0] = "changed"
	if s.Spec.Template.DocumentLibrary.ExcludePatterns[0] != "a/**" {
		t.Fatal("the run's spec shares its slices with the template")
	}
}
