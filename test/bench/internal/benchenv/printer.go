package benchenv

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Printer prints and keeps the first error, so a report is a run of prints and one
// check at the end.
type Printer struct{ err error }

// Printf writes to w unless an earlier print failed.
func (p *Printer) Printf(w io.Writer, format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(w, format, args...)
	}
}

// Flush flushes tw unless an earlier print failed.
func (p *Printer) Flush(tw *tabwriter.Writer) {
	if p.err == nil {
		p.err = tw.Flush()
	}
}

// Err is the first error of a print or a flush, nil if there was none.
func (p *Printer) Err() error { return p.err }
