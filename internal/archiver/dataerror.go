package archiver

import "github.com/lib/pq"

// isDataError reports a database refusal of the values themselves (SQLSTATE
// classes 22 data exception and 23 integrity constraint violation): retrying the
// same record cannot succeed.
func isDataError(err error) bool {
	if e := pq.As(err); e != nil {
		c := e.Code.Class()
		return c == "22" || c == "23"
	}
	return false
}
