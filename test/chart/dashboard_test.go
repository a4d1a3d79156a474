package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// dashboard is the part of a Grafana dashboard's JSON model the test checks.
type dashboard struct {
	UID           string           `json:"uid"`
	Title         string           `json:"title"`
	SchemaVersion int              `json:"schemaVersion"`
	Panels        []dashboardPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasourceRef  `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type dashboardPanel struct {
	ID         int              `json:"id"`
	Type       string           `json:"type"`
	Title      string           `json:"title"`
	Datasource *datasourceRef   `json:"datasource"`
	Panels     []dashboardPanel `json:"panels"` // a collapsed row's
	Targets    []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource *datasourceRef `json:"datasource"`
	} `json:"targets"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

const dashboardFile = "lc2-backup-controller.json"

// loadDashboard parses the chart's dashboard file strictly.
func loadDashboard(raw []byte) dashboard {
	var d dashboard
	Expect(json.Unmarshal(raw, &d)).To(Succeed())
	return d
}

var _ = Describe("The Grafana dashboard", func() {
	raw, err := os.ReadFile(filepath.Join(chartDir, "dashboards", dashboardFile))
	if err != nil {
		panic(err) // the file is part of the chart
	}

	It("is a valid dashboard: schema version, unique panel ids, every panel on the datasource variable", func() {
		d := loadDashboard(raw)
		Expect(d.UID).To(Equal("lc2-backup-controller"))
		Expect(d.Title).NotTo(BeEmpty())
		Expect(d.SchemaVersion).To(BeNumerically(">=", 36), "schemaVersion 36 and later take datasource references as {type, uid}")

		var variables []string
		for _, v := range d.Templating.List {
			variables = append(variables, v.Name)
			if v.Type == "datasource" {
				Expect(string(v.Query)).To(Equal(`"prometheus"`), "the datasource variable lists Prometheus datasources")
			} else {
				Expect(v.Datasource).To(Equal(&datasourceRef{Type: "prometheus", UID: "${datasource}"}), "variable %s", v.Name)
			}
		}
		Expect(variables).To(ContainElement("datasource"))

		ids := map[int]string{}
		queries := 0
		var check func(panels []dashboardPanel)
		check = func(panels []dashboardPanel) {
			for _, p := range panels {
				Expect(p.ID).To(BeNumerically(">", 0), p.Title)
				Expect(ids).NotTo(HaveKey(p.ID), "panel id %d of %q is also %q's", p.ID, p.Title, ids[p.ID])
				ids[p.ID] = p.Title
				Expect(p.Title).NotTo(BeEmpty())
				Expect(p.GridPos.W).To(BeNumerically(">", 0), p.Title)
				Expect(p.GridPos.X+p.GridPos.W).To(BeNumerically("<=", 24), p.Title)
				check(p.Panels)
				if p.Type == "row" {
					continue
				}
				Expect(p.Datasource).To(Equal(&datasourceRef{Type: "prometheus", UID: "${datasource}"}), p.Title)
				Expect(p.Targets).NotTo(BeEmpty(), p.Title)
				refs := map[string]bool{}
				for _, t := range p.Targets {
					Expect(refs).NotTo(HaveKey(t.RefID), "%s: refId %s twice", p.Title, t.RefID)
					refs[t.RefID] = true
					Expect(t.Datasource).To(Equal(p.Datasource), "%s %s", p.Title, t.RefID)
					Expect(t.Expr).NotTo(BeEmpty(), "%s %s", p.Title, t.RefID)
					queries++
				}
			}
		}
		check(d.Panels)
		Expect(queries).To(BeNumerically(">=", 20))
	})

	It("queries only metrics the controller exports", func() {
		exported := exportedMetrics()
		Expect(exported).To(ContainElements("backup_requests_total", "backup_archival_lag_seconds", "backup_schedule_missed_runs_total"), "the metric scan found the registries")
		d := loadDashboard(raw)
		var exprs []string
		for _, v := range d.Templating.List {
			if v.Type == "query" {
				var q struct{ Query string }
				Expect(json.Unmarshal(v.Query, &q)).To(Succeed())
				exprs = append(exprs, strings.TrimSuffix(strings.TrimPrefix(q.Query, "label_values("), ")"))
			}
		}
		var walk func(panels []dashboardPanel)
		walk = func(panels []dashboardPanel) {
			for _, p := range panels {
				walk(p.Panels)
				for _, t := range p.Targets {
					exprs = append(exprs, t.Expr)
				}
			}
		}
		walk(d.Panels)
		used := map[string]bool{}
		for _, expr := range exprs {
			names := metricNames(expr)
			Expect(names).NotTo(BeEmpty(), expr)
			for _, m := range names {
				if m == "le" || m == "project_id" || m == "environment" { // label_values' label argument
					continue
				}
				Expect(exported).To(ContainElement(histogramFamily(m, exported)), "%q uses %s, which the controller does not export", expr, m)
				used[histogramFamily(m, exported)] = true
			}
		}
		By("and shows what the issue asked for: last success, phases, durations, sizes, queue, archival, restores, schedules, copy, throttling")
		for _, m := range []string{"backup_last_success_timestamp_seconds", "backup_requests", "backup_duration_seconds",
			"backup_copy_bytes_total", "backup_referenced_bytes_total", "backup_copy_objects_total", "backup_referenced_objects_total",
			"backups_in_progress", "semaphore_queue_depth", "backup_archival_lag_seconds", "backup_archival_pending",
			"restore_requests_total", "backup_schedule_missed_runs_total", "backup_provider_api_errors_total"} {
			Expect(used).To(HaveKey(m))
		}
	})

	It("renders as a ConfigMap with the sidecar's label only when enabled", func() {
		Expect(render().ofKind("ConfigMap")).To(BeEmpty(), "off by default")

		objs := render("--set", "metrics.grafanaDashboard.enabled=true")
		cm := objs.get("ConfigMap", "lc2-lc2-backup-controller-dashboard")
		Expect(cm.GetNamespace()).To(Equal(namespace))
		Expect(cm.GetLabels()).To(HaveKeyWithValue("grafana_dashboard", "1"))
		Expect(cm.GetLabels()).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "Helm"))
		data, _, _ := unstructured.NestedString(cm.Object, "data", dashboardFile)
		Expect(data).To(Equal(strings.TrimRight(string(raw), "\n")), "the ConfigMap carries the file byte for byte")

		cm = render("-f", fullValues).get("ConfigMap", "lc2-backup-full-dashboard")
		Expect(cm.GetNamespace()).To(Equal("monitoring"))
		Expect(cm.GetLabels()).To(HaveKeyWithValue("example.com/grafana-dashboard", "true"))
		Expect(cm.GetLabels()).To(HaveKeyWithValue("team", "platform"))
		Expect(cm.GetAnnotations()).To(HaveKeyWithValue("grafana_folder", "Backups"))
	})
})

// histogramFamily is the metric family a series name belongs to: a histogram's
// _bucket, _sum and _count series belong to the histogram the controller registers.
func histogramFamily(series string, exported []string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(series, suffix); ok && slices.Contains(exported, base) {
			return base
		}
	}
	return series
}
