package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

// printDiagnostics explains where the time went: how long requests waited in the
// work queue of the controller named name, how long a reconcile pass took, how many
// API calls this process made and how much CPU the API server, etcd and this process
// used (u: what a phase used, see currentUsage).
func printDiagnostics(name string, u usage) {
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		fmt.Println("  diagnostics: gather metrics:", err)
		return
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
	}
	if h := histogram(byName["workqueue_queue_duration_seconds"], "name", name); h != nil {
		fmt.Printf("  work queue wait               p50 %s  p99 %s  (%d items)\n", quantile(h, 0.5), quantile(h, 0.99), h.GetSampleCount())
	}
	if h := histogram(byName["controller_runtime_reconcile_time_seconds"], "controller", name); h != nil {
		fmt.Printf("  reconcile pass                p50 %s  p99 %s  (%d passes)\n", quantile(h, 0.5), quantile(h, 0.99), h.GetSampleCount())
	}
	if len(u.requests) > 0 {
		var parts []string
		for method, n := range u.requests {
			if n > 0 {
				parts = append(parts, fmt.Sprintf("%s %.0f", method, n))
			}
		}
		sort.Strings(parts)
		fmt.Printf("  API requests of this process  %s\n", strings.Join(parts, ", "))
	}
	var parts []string
	for _, name := range u.cpuOrder {
		parts = append(parts, name+" "+u.cpu[name].Round(time.Second/10).String())
	}
	fmt.Printf("  CPU time                      %s\n", strings.Join(parts, ", "))
}

// usage is what the process has used so far: its API requests by verb (client-go's
// rest_client_requests_total) and the CPU time of this process ("this process") and
// of its children (envtest's kube-apiserver and etcd) by name.
type usage struct {
	requests map[string]float64
	cpu      map[string]time.Duration
	cpuOrder []string
}

func currentUsage() usage {
	u := usage{requests: map[string]float64{}, cpu: map[string]time.Duration{}}
	if families, err := ctrlmetrics.Registry.Gather(); err == nil {
		for _, f := range families {
			if f.GetName() == "rest_client_requests_total" {
				for _, m := range f.GetMetric() {
					u.requests[label(m, "method")] += m.GetCounter().GetValue()
				}
			}
		}
	}
	self := os.Getpid()
	u.add("this process", cpuOf(self))
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		comm, ppid, cpu, ok := readStat(path)
		if ok && ppid == self {
			u.add(comm, cpu)
		}
	}
	return u
}

func (u *usage) add(name string, cpu time.Duration) {
	if _, ok := u.cpu[name]; !ok {
		u.cpuOrder = append(u.cpuOrder, name)
	}
	u.cpu[name] += cpu
}

// minus is what u used beyond b (a zero b: all of u).
func (u usage) minus(b usage) usage {
	d := usage{requests: map[string]float64{}, cpu: map[string]time.Duration{}}
	for method, n := range u.requests {
		d.requests[method] = n - b.requests[method]
	}
	for _, name := range u.cpuOrder {
		d.add(name, u.cpu[name]-b.cpu[name])
	}
	return d
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

// printCloudCalls prints the fake provider's calls per backup by operation (each
// takes latency): the cloud's share of a backup, which the floor does not have.
func printCloudCalls(cloud *fake.Provider, backups int, latency time.Duration) {
	if backups == 0 {
		return
	}
	t := reflect.TypeFor[provider.Provider]()
	var parts []string
	total := 0
	for i := range t.NumMethod() {
		if n := cloud.Calls(t.Method(i).Name); n > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f", t.Method(i).Name, float64(n)/float64(backups)))
			total += n
		}
	}
	fmt.Printf("  cloud calls per backup        %.1f (%s each): %s\n", float64(total)/float64(backups), latency, strings.Join(parts, ", "))
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
