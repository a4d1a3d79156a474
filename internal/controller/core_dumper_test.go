package controller

import "testing"

// One mapping serves the backup's throw-away instances and a restore's new
// instances: the first pattern in order that matches, else the instance's endpoint.
func TestDumperEndpointMapsTheFirstMatchingPatternInOrder(t *testing.T) {
	o := Options{DumpInstanceEndpoints: map[string]string{
		"lc2-dump-*":     "127.0.0.1:5432",
		"retail-new-*":   "127.0.0.1:5433",
		"retail-*":       "127.0.0.1:5434",
		"retail-new-db?": "127.0.0.1:5435",
	}}
	for id, want := range map[string]string{
		"lc2-dump-0a1b":  "127.0.0.1:5432",
		"retail-new-db":  "127.0.0.1:5434", // "retail-*" sorts before "retail-new-*"
		"retail-new-db2": "127.0.0.1:5434",
		"bank-new-db":    "bank-new-db.rds:5432",
	} {
		if got := o.dumperEndpoint(id, id+".rds:5432"); got != want {
			t.Errorf("dumperEndpoint(%s) = %s, want %s", id, got, want)
		}
	}
	if got := (Options{}).dumperEndpoint("retail-new-db", "retail-new-db.rds:5432"); got != "retail-new-db.rds:5432" {
		t.Errorf("without a mapping: %s, want the instance's endpoint", got)
	}
}
