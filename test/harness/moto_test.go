package harness

import (
	"context"
	"net/http"
	"testing"
)

func TestStartMotoAnswersAndStops(t *testing.T) {
	m, err := StartMoto(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(m.Endpoint + "/moto-api/")
	if err != nil {
		t.Fatalf("moto not answering: %v", err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	m.Stop()
	if !m.proc.Exited() {
		t.Fatal("moto still running after Stop")
	}
}
