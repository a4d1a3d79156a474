package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/cmd/get"
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

// printFlags are kubectl get's -o: cli-runtime's PrintFlags (json, yaml, kyaml, name,
// go-template, jsonpath and their -file forms, --template) and kubectl's
// custom-columns, so users write what they write for kubectl get.
type printFlags struct {
	generic *genericclioptions.PrintFlags
	columns *get.CustomColumnsPrintFlags
}

// newPrintFlags are the -o flags with the default output defaultOutput ("": the
// command's own human output).
func newPrintFlags(defaultOutput string) *printFlags {
	return &printFlags{
		generic: genericclioptions.NewPrintFlags("").WithDefaultOutput(defaultOutput),
		columns: get.NewCustomColumnsPrintFlags(),
	}
}

// addFlags adds -o, --template, --allow-missing-template-keys, --show-managed-fields and
// --no-headers; human is what the command prints without -o ("" when it has a default
// format).
func (f *printFlags) addFlags(cmd *cobra.Command, human string) {
	f.generic.AddFlags(cmd)
	formats := append(f.generic.AllowedFormats(), f.columns.AllowedFormats()...)
	usage := "Output format. One of: (" + strings.Join(formats, ", ") + ")."
	if human != "" {
		usage += " Default: " + human + "."
	}
	cmd.Flags().Lookup("output").Usage = usage
	cmd.Flags().BoolVar(&f.columns.NoHeaders, "no-headers", false, "no header row in the table and in custom-columns")
}

// human says the command prints its own human output: no -o and no --template.
func (f *printFlags) human() bool {
	return *f.generic.OutputFormat == "" && *f.generic.TemplatePrinterFlags.TemplateArgument == ""
}

// toPrinter is the printer of -o (or of --template alone). Commands call it before
// asking the API server anything, so a wrong -o fails at once.
func (f *printFlags) toPrinter() (printers.ResourcePrinter, error) {
	format := *f.generic.OutputFormat
	if p, err := f.columns.ToPrinter(format); !genericclioptions.IsNoCompatiblePrinterError(err) {
		return p, err
	}
	p, err := f.generic.ToPrinter()
	if genericclioptions.IsNoCompatiblePrinterError(err) {
		formats := append(f.generic.AllowedFormats(), f.columns.AllowedFormats()...)
		return nil, fmt.Errorf("-o %s: unknown output format, want one of %s", format, strings.Join(formats, ", "))
	}
	return p, err
}

// printObject writes obj with printer as kubectl get would: with its apiVersion and
// kind (and its items' for a list), and as the unstructured object kubectl reads from
// the API server, so a jsonpath or custom column of a field the server leaves out
// (omitempty: false, 0, "") finds nothing, not the Go zero value.
func printObject(w io.Writer, obj runtime.Object, printer printers.ResourcePrinter) error {
	if err := setKind(obj); err != nil {
		return err
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return fmt.Errorf("convert %T for printing: %w", obj, err)
	}
	u := &unstructured.Unstructured{Object: content}
	if !u.IsList() {
		return printer.PrintObj(u, w)
	}
	list, err := u.ToList()
	if err != nil {
		return fmt.Errorf("convert %T for printing: %w", obj, err)
	}
	return printer.PrintObj(list, w)
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

// table writes rows under header (none when header is nil), aligned like kubectl get.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := printers.GetNewTabWriter(w)
	if header != nil {
		fprintln(tw, strings.Join(header, "\t"))
	}
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
