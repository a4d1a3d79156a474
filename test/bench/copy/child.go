package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/aws"
)

// childCommand makes this binary run one copy with our provider and exit, so the
// benchmark measures that process's peak RSS and nothing of its own.
const childCommand = "copy-child"

// runChildCopy copies -src-bucket/-prefix to -dst-bucket/-prefix and prints the result
// as JSON. The server comes from the environment (AWS_ENDPOINT_URL), as in production.
func runChildCopy(args []string) int {
	fs := flag.NewFlagSet(childCommand, flag.ExitOnError)
	src := fs.String("src-bucket", "", "source bucket")
	dst := fs.String("dst-bucket", "", "destination bucket")
	prefix := fs.String("prefix", "", "prefix copied (the same at the destination)")
	concurrency := fs.Int("concurrency", 0, "copy concurrency")
	threshold := fs.Int64("threshold", 0, "multipart threshold")
	partSize := fs.Int64("part-size", 0, "multipart part size")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the copy to this file")
	rateCap := fs.Float64("rate-cap", 0, "cap on the copy's requests per second (0: none)")
	_ = fs.Parse(args)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "copy:", err)
			return 1
		}
		defer func() { // runs after StopCPUProfile; a failed close means a damaged profile
			if err := f.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "copy: cpu profile:", err)
			}
		}()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "copy:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	ctx := context.Background()
	p, err := aws.New(ctx, aws.Options{CopyConcurrency: *concurrency, CopyRequestsPerSecond: *rateCap})
	if err != nil {
		fmt.Fprintln(os.Stderr, "copy:", err)
		return 1
	}
	res, err := p.CopyObjectStorage(ctx, provider.ObjectStorageCopyRequest{
		SourceBucket:       *src,
		SourcePrefix:       *prefix,
		DestinationBucket:  *dst,
		DestinationPrefix:  *prefix,
		Concurrency:        *concurrency,
		MultipartThreshold: *threshold,
		PartSize:           *partSize,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "copy:", err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 1
	}
	return 0
}
