package integration

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
)

// scrape fetches url and returns its samples as "name{labels}" -> value; it fails g
// when the endpoint does not answer (yet), so callers poll it with Eventually.
func scrape(g Gomega, url string) map[string]float64 {
	resp, err := http.Get(url)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { g.Expect(resp.Body.Close()).To(Succeed()) }()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	data, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	samples := map[string]float64{}
	line := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$`)
	for _, l := range strings.Split(string(data), "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			v, err := strconv.ParseFloat(m[2], 64)
			g.Expect(err).NotTo(HaveOccurred(), "sample %q", l)
			samples[m[1]] = v
		}
	}
	return samples
}

// metricsPatience bounds the waits for metrics that must appear: the counters are
// updated after the status write a test sees, and a busy machine delays them.
const metricsPatience = 60 * time.Second

var _ = Describe("Prometheus metrics", Ordered, func() {
	It("exports backup metrics over HTTP, and the gauges are rebuilt after a restart", func() {
		ns := projectNamespace("proj-metrics-prd", "metrics")
		cloud.CreateDBInstance("metrics-prd-db", fixtures.ProjectTag("metrics"))
		cloud.SeedDocumentLibrary("liferay-metrics-prd-dl", 7, fixtures.ProjectTag("metrics"))
		cloud.CreateBucket("metrics-backups", fixtures.ProjectTag("metrics"))
		first := startController(moto.Endpoint, controllerOptions())
		br := newBackupRequest(ns, "metrics-backup", "metrics", backups.Full("metrics-prd-db", "liferay-metrics-prd-dl", "metrics-backups", "metrics/prd/1/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, br.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		done := getBR(ns, br.Name)

		check := func(g Gomega, samples map[string]float64) {
			pe := `{environment="prd",project_id="metrics"}`
			g.Expect(samples).To(HaveKeyWithValue("backup_last_success_timestamp_seconds"+pe, float64(done.Status.CompletionTime.Unix())))
			g.Expect(samples).To(HaveKeyWithValue("backup_dl_size_bytes"+pe, float64(done.Status.DocumentLibrary.TotalSizeBytes)))
			g.Expect(samples).To(HaveKeyWithValue("backup_database_size_bytes"+pe, float64(done.Status.Database.SizeBytes)))
			g.Expect(samples).To(HaveKeyWithValue(`backups_in_progress{project_id="metrics"}`, 0.0))
			g.Expect(samples).To(HaveKeyWithValue(`semaphore_queue_depth{project_id="metrics"}`, 0.0))
			g.Expect(samples).To(HaveKeyWithValue(`backup_requests{phase="Succeeded",project_id="metrics"}`, 1.0))
			for name := range samples {
				g.Expect(name).NotTo(ContainSubstring("metrics-backup"), "no per-backup label values")
			}
		}
		// The controller counts a finished backup right after the status write this test
		// saw, so the counters are awaited, not read once.
		Eventually(func(g Gomega) {
			samples := scrape(g, first.metricsURL)
			check(g, samples)
			g.Expect(samples).To(HaveKeyWithValue(`backup_requests_total{environment="prd",project_id="metrics",state="succeeded"}`, 1.0))
			g.Expect(samples).To(HaveKeyWithValue(`backup_duration_seconds_count{environment="prd",project_id="metrics"}`, 1.0))
			g.Expect(samples[`backup_provider_api_calls_total{operation="CreateDatabaseSnapshot"}`]).To(BeNumerically(">=", 1))
		}).WithTimeout(metricsPatience).Should(Succeed())

		By("restarting the controller")
		first.Stop()
		second := startController(moto.Endpoint, controllerOptions())
		defer second.Stop()
		Eventually(func(g Gomega) { check(g, scrape(g, second.metricsURL)) }).WithTimeout(metricsPatience).Should(Succeed())

		By("a project whose backups are gone stops being reported")
		Expect(k8sClient.Delete(suiteCtx, done)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(scrape(g, second.metricsURL)).NotTo(HaveKey(`backups_in_progress{project_id="metrics"}`))
		}).WithTimeout(metricsPatience).Should(Succeed())
	})
})
