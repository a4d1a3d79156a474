package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/liferay/lc2-backup-controller/internal/scheme"
)

// stickyWriter keeps the first write error of the plugin's output, so the output
// helpers need not check every write and Run still reports a failed stdout (a closed
// pipe, a full disk) once, with a non-zero exit.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// fprintf, fprintln and fprint write to the plugin's output: a stickyWriter keeps
// their errors for Run, a tabwriter for its Flush.
func fprintf(w io.Writer, format string, args ...any) { _, _ = fmt.Fprintf(w, format, args...) }
func fprintln(w io.Writer, args ...any)               { _, _ = fmt.Fprintln(w, args...) }
func fprint(w io.Writer, args ...any)                 { _, _ = fmt.Fprint(w, args...) }

// printObject writes obj as YAML or JSON (format "yaml" or "json"), with its
// apiVersion and kind as kubectl shows them.
func printObject(w io.Writer, obj runtime.Object, format string) error {
	if err := setKind(obj); err != nil {
		return err
	}
	var p printers.ResourcePrinter
	switch format {
	case "yaml":
		p = &printers.YAMLPrinter{}
	case "json":
		p = &printers.JSONPrinter{}
	default:
		return fmt.Errorf("unknown output format %q: want yaml or json", format)
	}
	return p.PrintObj(obj, w)
}

// setKind fills the TypeMeta the typed client leaves empty, of a list's items too.
func setKind(obj runtime.Object) error {
	gvk, err := apiutil.GVKForObject(obj, scheme.Scheme)
	if err != nil {
		return fmt.Errorf("kind of %T: %w", obj, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	items, err := metaItems(obj)
	if err != nil {
		return err
	}
	for _, item := range items {
		if err := setKind(item); err != nil {
			return err
		}
	}
	return nil
}

// metaItems are a list's items (pointers into it), none for another object.
func metaItems(obj runtime.Object) ([]runtime.Object, error) {
	if !meta.IsListType(obj) {
		return nil, nil
	}
	return meta.ExtractList(obj)
}

// table writes rows under header, aligned like kubectl get.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := printers.GetNewTabWriter(w)
	fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// age is how long ago t was, like kubectl's AGE column ("<none>" when unset).
func age(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// until is how long until t ("in 5h"), or how long ago when past.
func until(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	if d := t.Sub(now); d > 0 {
		return "in " + duration.HumanDuration(d)
	}
	return duration.HumanDuration(now.Sub(t.Time)) + " ago"
}

// elapsed is from start to end, or to now while running ("" before it started).
func elapsed(start, end *metav1.Time, now time.Time) string {
	if start == nil {
		return ""
	}
	to := now
	if end != nil {
		to = end.Time
	}
	return duration.HumanDuration(to.Sub(start.Time))
}

// timestamp is t in RFC 3339 (UTC) with its age.
func timestamp(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	return t.UTC().Format(time.RFC3339) + " (" + until(t, now) + ")"
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
