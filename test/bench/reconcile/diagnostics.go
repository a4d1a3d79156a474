package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// printDiagnostics explains where the time went: how long requests waited in the
// controller's work queue, how long a reconcile pass took, how many API calls the
// controller made, and how much CPU the API server, etcd and this process used.
func printDiagnostics() {
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		fmt.Println("  diagnostics: gather metrics:", err)
		return
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
	}
	if h := histogram(byName["workqueue_queue_duration_seconds"], "name", "backuprequest"); h != nil {
		fmt.Printf("  work queue wait               p50 %s  p99 %s  (%d items)\n", quantile(h, 0.5), quantile(h, 0.99), h.GetSampleCount())
	}
	if h := histogram(byName["controller_runtime_reconcile_time_seconds"], "controller", "backuprequest"); h != nil {
		fmt.Printf("  reconcile pass                p50 %s  p99 %s  (%d passes)\n", quantile(h, 0.5), quantile(h, 0.99), h.GetSampleCount())
	}
	if f := byName["rest_client_requests_total"]; f != nil {
		byMethod := map[string]float64{}
		for _, m := range f.GetMetric() {
			byMethod[label(m, "method")] += m.GetCounter().GetValue()
		}
		var parts []string
		for method, n := range byMethod {
			parts = append(parts, fmt.Sprintf("%s %.0f", method, n))
		}
		sort.Strings(parts)
		fmt.Printf("  API requests of this process  %s\n", strings.Join(parts, ", "))
	}
	fmt.Printf("  CPU time                      %s\n", cpuTimes())
}

func histogram(f *dto.MetricFamily, key, value string) *dto.Histogram {
	if f == nil {
		return nil
	}
	for _, m := range f.GetMetric() {
		if label(m, key) == value {
			return m.GetHistogram()
		}
	}
	return nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// quantile estimates a quantile from cumulative buckets by linear interpolation.
func quantile(h *dto.Histogram, q float64) string {
	total := float64(h.GetSampleCount())
	if total == 0 {
		return "n/a"
	}
	rank := q * total
	lowerBound, lowerCount := 0.0, 0.0
	for _, b := range h.GetBucket() {
		if float64(b.GetCumulativeCount()) >= rank {
			upper := b.GetUpperBound()
			if math.IsInf(upper, 1) {
				return fmt.Sprintf("> %s", seconds(lowerBound))
			}
			inBucket := float64(b.GetCumulativeCount()) - lowerCount
			frac := 1.0
			if inBucket > 0 {
				frac = (rank - lowerCount) / inBucket
			}
			return seconds(lowerBound + frac*(upper-lowerBound))
		}
		lowerBound, lowerCount = b.GetUpperBound(), float64(b.GetCumulativeCount())
	}
	return fmt.Sprintf("> %s", seconds(lowerBound))
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

// cpuTimes reports user+system CPU of this process and of its children (envtest's
// kube-apiserver and etcd).
func cpuTimes() string {
	self := os.Getpid()
	parts := []string{"this process " + cpuOf(self).Round(time.Second/10).String()}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		comm, ppid, cpu, ok := readStat(path)
		if ok && ppid == self {
			parts = append(parts, comm+" "+cpu.Round(time.Second/10).String())
		}
	}
	return strings.Join(parts, ", ")
}

func cpuOf(pid int) time.Duration {
	_, _, cpu, _ := readStat(fmt.Sprintf("/proc/%d/stat", pid))
	return cpu
}

// readStat parses comm, ppid and utime+stime from /proc/<pid>/stat.
func readStat(path string) (comm string, ppid int, cpu time.Duration, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", 0, 0, false
	}
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", 0, 0, false
	}
	comm = s[open+1 : closing]
	fields := strings.Fields(s[closing+1:])
	// fields[0] is state; ppid is field 4 of the file, utime 14, stime 15.
	if len(fields) < 13 {
		return "", 0, 0, false
	}
	ppid, _ = strconv.Atoi(fields[1])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const clockTicks = 100 // USER_HZ on Linux
	return comm, ppid, time.Duration(utime+stime) * time.Second / clockTicks, true
}

// slotHandover measures, per project, how long a freed slot stayed idle: the i-th
// completion frees the slot the (i+limit)-th start takes. Whole-second resolution.
func slotHandover(items []backupv1alpha1.BackupRequest, limit int) []time.Duration {
	starts, ends := map[string][]time.Time{}, map[string][]time.Time{}
	for _, br := range items {
		p := br.Spec.ProjectID
		if br.Status.StartTime != nil {
			starts[p] = append(starts[p], br.Status.StartTime.Time)
		}
		if br.Status.CompletionTime != nil {
			ends[p] = append(ends[p], br.Status.CompletionTime.Time)
		}
	}
	var gaps []time.Duration
	for p, s := range starts {
		e := ends[p]
		sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
		sort.Slice(e, func(i, j int) bool { return e[i].Before(e[j]) })
		for i := 0; i+limit < len(s) && i < len(e); i++ {
			gaps = append(gaps, max(s[i+limit].Sub(e[i]), 0))
		}
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	return gaps
}
