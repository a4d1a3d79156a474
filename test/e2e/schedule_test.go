//go:build e2e

package e2e

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
)

var _ = Describe("A BackupSchedule driven through kubectl", Ordered, func() {
	const ns = "proj-minutely-prd"

	BeforeAll(func() {
		projectNamespace(ns, "minutely")
		cloud.CreateDBInstance("minutely-prd-db", fixtures.ProjectTag("minutely"))
		cloud.SeedDocumentLibrary("liferay-minutely-dl", 3, fixtures.ProjectTag("minutely"))
		cloud.CreateBucket("minutely-backups", fixtures.ProjectTag("minutely"))
		startManager(moto.Endpoint)
	})

	It("runs a schedule every minute: two runs succeed and kubectl get bsched shows the last and next run", func() {
		s := backups.NewSchedule(ns, "minutely", "minutely", "* * * * *", "minutely-prd-db", "liferay-minutely-dl", "minutely-backups")
		out, err := kubectlApply(backups.ScheduleYAML(s))
		Expect(err).NotTo(HaveOccurred(), out)

		By("waiting (on the real clock) for two scheduled runs to succeed")
		Eventually(func() int {
			out, err := kubectl("get", "backuprequests", "-n", ns, "-l", "backup.liferay.cloud/schedule=minutely",
				"-o", "jsonpath={.items[*].status.phase}")
			if err != nil {
				return 0
			}
			return strings.Count(out, "Succeeded")
		}).WithTimeout(6 * time.Minute).WithPolling(2 * time.Second).Should(BeNumerically(">=", 2))

		By("kubectl get bsched shows the schedule, its last and its next run")
		Eventually(func(g Gomega) {
			out, err := kubectl("get", "bsched", "-n", ns)
			g.Expect(err).NotTo(HaveOccurred(), out)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			g.Expect(lines).To(HaveLen(2), out)
			g.Expect(strings.Fields(lines[0])[:2]).To(Equal([]string{"NAME", "SCHEDULE"}), out)
			g.Expect(lines[0]).To(ContainSubstring("LAST"))
			g.Expect(lines[0]).To(ContainSubstring("NEXT"))
			g.Expect(lines[1]).To(ContainSubstring("* * * * *"))
			g.Expect(lines[1]).NotTo(ContainSubstring("<none>"), out)
		}).WithTimeout(time.Minute).Should(Succeed())
		last := mustKubectl("get", "bsched", "-n", ns, "minutely", "-o", "jsonpath={.status.lastScheduleTime}")
		next := mustKubectl("get", "bsched", "-n", ns, "minutely", "-o", "jsonpath={.status.nextScheduleTime}")
		Expect(last).NotTo(BeEmpty())
		Expect(next > last).To(BeTrue(), "next %s after last %s", next, last)
		Expect(mustKubectl("get", "backup", "-n", ns)).To(ContainSubstring("minutely"), "the category lists schedules too")
	})
})
