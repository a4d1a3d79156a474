package integration

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// scrape fetches url and returns its samples as "name{labels}" -> value.
func scrape(url string) map[string]float64 {
	GinkgoHelper()
	var body string
	Eventually(func(g Gomega) {
		resp, err := http.Get(url)
		g.Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
		data, err := io.ReadAll(resp.Body)
		g.Expect(err).NotTo(HaveOccurred())
		body = string(data)
	}).WithTimeout(10 * time.Second).Should(Succeed())
	samples := map[string]float64{}
	line := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$`)
	for _, l := range strings.Split(body, "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			v, err := strconv.ParseFloat(m[2], 64)
			if err == nil {
				samples[m[1]] = v
			}
		}
	}
	return samples
}

var _ = Describe("Prometheus metrics", Ordered, func() {
	It("exports backup metrics over HTTP, and the gauges are rebuilt after a restart", func() {
		ns := projectNamespace("proj-metrics-prd", "metrics")
		cloud.CreateDBInstance("metrics-prd-db")
		cloud.SeedDocumentLibrary("liferay-metrics-prd-dl", 7)
		cloud.CreateBucket("metrics-backups")
		first := startController(moto.Endpoint, controllerOptions())
		br := newBackupRequest(ns, "metrics-backup", "metrics", fullSpec("metrics-prd-db", "liferay-metrics-prd-dl", "metrics-backups", "metrics/prd/1/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, br.Name)).WithTimeout(60 * time.Second).Should(Equal(backupv1alpha1.PhaseSucceeded))
		done := getBR(ns, br.Name)

		check := func(samples map[string]float64) {
			GinkgoHelper()
			pe := `{environment="prd",project_id="metrics"}`
			Expect(samples).To(HaveKeyWithValue("backup_last_success_timestamp_seconds"+pe, float64(done.Status.CompletionTime.Unix())))
			Expect(samples).To(HaveKeyWithValue("backup_dl_size_bytes"+pe, float64(done.Status.DocumentLibrary.TotalSizeBytes)))
			Expect(samples).To(HaveKeyWithValue("backup_database_size_bytes"+pe, float64(done.Status.Database.SizeBytes)))
			Expect(samples).To(HaveKeyWithValue(`backups_in_progress{project_id="metrics"}`, 0.0))
			Expect(samples).To(HaveKeyWithValue(`semaphore_queue_depth{project_id="metrics"}`, 0.0))
			Expect(samples).To(HaveKeyWithValue(`backup_requests{phase="Succeeded",project_id="metrics"}`, 1.0))
			for name := range samples {
				Expect(name).NotTo(ContainSubstring("metrics-backup"), "no per-backup label values")
			}
		}
		samples := scrape(first.metricsURL)
		check(samples)
		Expect(samples).To(HaveKeyWithValue(`backup_requests_total{environment="prd",project_id="metrics",state="succeeded"}`, 1.0))
		Expect(samples).To(HaveKeyWithValue(`backup_duration_seconds_count{environment="prd",project_id="metrics"}`, 1.0))
		Expect(samples[`backup_provider_api_calls_total{operation="CreateDatabaseSnapshot"}`]).To(BeNumerically(">=", 1))

		By("restarting the controller")
		first.Stop()
		second := startController(moto.Endpoint, controllerOptions())
		defer second.Stop()
		check(scrape(second.metricsURL))

		By("a project whose backups are gone stops being reported")
		Expect(k8sClient.Delete(suiteCtx, done)).To(Succeed())
		Eventually(func() map[string]float64 { return scrape(second.metricsURL) }).WithTimeout(10 * time.Second).
			ShouldNot(HaveKey(`backups_in_progress{project_id="metrics"}`))
	})
})
