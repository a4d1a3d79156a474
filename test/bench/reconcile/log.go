package main

import (
	"github.com/go-logr/logr"
)

// nopLogger silences controller-runtime: the benchmark prints its own report.
func nopLogger() logr.Logger { return logr.Discard() }
