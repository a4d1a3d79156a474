package integration

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

// eventsFor lists the events regarding name in namespace that keep accepts.
func eventsFor(namespace, name string, keep func(eventsv1.Event) bool) []eventsv1.Event {
	GinkgoHelper()
	var list eventsv1.EventList
	Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(namespace))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name && keep(e) {
			out = append(out, e)
		}
	}
	return out
}

func warningEventsFor(namespace, name string) []eventsv1.Event {
	GinkgoHelper()
	return eventsFor(namespace, name, func(e eventsv1.Event) bool { return e.Type == "Warning" })
}

var _ = Describe("BackupRequest controller on the AWS emulator", Ordered, func() {
	var ctrlr *runningController

	AfterEach(func() {
		if ctrlr != nil {
			ctrlr.Stop()
			ctrlr = nil
		}
	})

	It("backs up a database and a document library end to end", func() {
		ns := projectNamespace("proj-retail-prd", "retail")
		cloud.CreateDBInstance("retail-prd-db", fixtures.ProjectTag("retail"))
		wanted := cloud.SeedDocumentLibrary("liferay-retail-prd-dl", 40, fixtures.ProjectTag("retail"))
		cloud.CreateBucket("liferay-backups", fixtures.SharedBucketTag())
		ctrlr = startController(moto.Endpoint, controllerOptions())

		br := newBackupRequest(ns, "retail-prd-backup-20251109", "retail", backups.Full("retail-prd-db", "liferay-retail-prd-dl", "liferay-backups", "retail/prd/20251109/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, br.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		br = getBR(ns, br.Name)

		By("a snapshot tagged with its owner exists in the emulator")
		Expect(cloud.SnapshotIDs("retail-prd-db")).To(ConsistOf(br.Status.Database.SnapshotID))
		tags := cloud.SnapshotTags(br.Status.Database.SnapshotARN)
		Expect(tags).To(ContainElement("retail"))
		Expect(tags).To(ContainElement(string(br.UID)))

		By("every user document is copied under data/ and no generated file is")
		Expect(cloud.ListKeys("liferay-backups", "retail/prd/20251109/data/")).To(Equal(wanted))
		Expect(br.Status.DocumentLibrary.ObjectsTotal).To(BeEquivalentTo(40))
		Expect(br.Status.DocumentLibrary.ObjectsExcluded).To(BeEquivalentTo(3))
		By("beside data/: the claim, one inventory part and the manifest, nothing else")
		Expect(cloud.ListKeys("liferay-backups", "retail/prd/20251109/")).To(ConsistOf(append(prefixed("data/", wanted),
			"claim.json", "manifest.json", MatchRegexp(`^inventory/\d{8}T\d{6}\.\d{9}Z-00000\.jsonl\.gz$`))))

		By("the manifest verifies and matches status")
		data := cloud.GetObject("liferay-backups", "retail/prd/20251109/manifest.json")
		m, err := manifest.Verify(data)
		Expect(err).NotTo(HaveOccurred())
		Expect(harness.VerifyManifestInPython(data)).To(Succeed())
		Expect(m.Checksum).To(Equal(br.Status.Manifest.Checksum))
		Expect(m.DocumentLibrary.Inventory.ObjectCount).To(BeEquivalentTo(40))
		Expect(m.DocumentLibrary.ObjectCount).To(BeEquivalentTo(40))
		Expect(m.Database.SnapshotID).To(Equal(br.Status.Database.SnapshotID))
		Expect(br.Status.Manifest.Location).To(Equal("s3://liferay-backups/retail/prd/20251109/manifest.json"))

		By("conditions tell the story")
		for _, c := range []backupv1alpha1.ConditionType{backupv1alpha1.ConditionReady, backupv1alpha1.ConditionDatabaseSnapshotReady, backupv1alpha1.ConditionDocumentLibraryCopied, backupv1alpha1.ConditionManifestWritten} {
			Expect(br.Status.IsConditionTrue(c)).To(BeTrue(), string(c))
		}
	})

	It("runs at most two backups of a project at once, in creation order, without delaying another project", func() {
		ns := projectNamespace("proj-shop-prd", "shop")
		bankNS := projectNamespace("proj-bank-prd", "bank")
		cloud.CreateDBInstance("shop-prd-db", fixtures.ProjectTag("shop"))
		cloud.CreateDBInstance("bank-prd-db", fixtures.ProjectTag("bank"))
		cloud.SeedDocumentLibrary("liferay-shop-prd-dl", 10, fixtures.ProjectTag("shop"))
		cloud.CreateBucket("shop-backups", fixtures.ProjectTag("shop"))
		cloud.CreateBucket("bank-backups", fixtures.ProjectTag("bank"))

		By("parking shop's object copies in a proxy, so the backups that start keep their slots until the test lets go")
		proxy, err := harness.NewDelayProxy(moto.Endpoint)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(proxy.Close)
		copies := &copyTracker{bucket: "shop-backups"}
		proxy.Hold(copies.match)
		opts := controllerOptions()
		ctrlr = startController(proxy.URL, opts)

		By("watching what a user sees")
		seen := watchBackupRequests(ns)

		var names, prefixes []string
		for i := range 5 {
			name, prefix := fmt.Sprintf("shop-backup-%d", i), fmt.Sprintf("shop/prd/%d/", i)
			names, prefixes = append(names, name), append(prefixes, prefix)
			spec := backups.Full("shop-prd-db", "liferay-shop-prd-dl", "shop-backups", prefix)
			// Created back to back: creation timestamps have second resolution, so names
			// (which sort in creation order here) break the ties.
			Expect(k8sClient.Create(suiteCtx, newBackupRequest(ns, name, "shop", spec))).To(Succeed())
		}
		bank := newBackupRequest(bankNS, "bank-backup", "bank", backups.Database("bank-prd-db"))
		Expect(k8sClient.Create(suiteCtx, bank)).To(Succeed())

		By("the two oldest run, parked in their copies; the other three wait in line with their positions")
		Eventually(func(g Gomega) {
			g.Expect(copies.parked(proxy.Held())).To(Equal(prefixes[:2]), "backups with a copy parked in the proxy")
			brs := seen.latest()
			for _, name := range names[:2] {
				g.Expect(brs).To(HaveKeyWithValue(name, HaveField("Status.Phase", backupv1alpha1.PhaseInProgress)), name)
			}
			for i, name := range names[2:] {
				g.Expect(brs).To(HaveKey(name))
				g.Expect(brs[name].Status.Phase).To(Equal(backupv1alpha1.PhasePending), name)
				ready := brs[name].Status.Condition(backupv1alpha1.ConditionReady)
				g.Expect(ready).NotTo(BeNil(), name)
				g.Expect(ready.Reason).To(BeEquivalentTo(backupv1alpha1.ReasonWaitingForSlot), name)
				g.Expect(ready.Message).To(ContainSubstring(fmt.Sprintf("position %d in the queue of project shop", i+1)), name)
			}
		}).WithTimeout(2 * time.Minute).Should(Succeed())

		By("the other project's backup runs to the end while shop's slots are taken")
		Eventually(phaseOf(bankNS, bank.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		Expect(copies.parked(proxy.Held())).To(Equal(prefixes[:2]), "shop's first two backups are still parked")

		By("no third backup of shop starts while the two hold the slots")
		// The copies stay parked whatever the speed of the machine; the window only has
		// to cover a recheck of every waiting request (at most SlotRetryMax apart).
		Consistently(func(g Gomega) {
			g.Expect(seen.inProgress()).To(ConsistOf(names[0], names[1]))
			g.Expect(copies.started()).To(Equal(prefixes[:2]), "backups whose copy reached S3")
		}).WithTimeout(opts.SlotRetryMax + time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())

		By("letting the copies go: every backup succeeds, in creation order")
		proxy.Release()
		for _, name := range names {
			Eventually(func() backupv1alpha1.BackupPhase { return seen.phase(name) }).WithTimeout(2*time.Minute).
				Should(Equal(backupv1alpha1.PhaseSucceeded), name)
		}
		for _, prefix := range prefixes {
			Expect(cloud.ListKeys("shop-backups", prefix+"data/")).To(HaveLen(10), prefix)
		}
		startOrder, maxInProgress := seen.starts()
		Expect(maxInProgress).To(Equal(2), "never more than two at once, and both slots used")
		// With two slots a request may start together with the one created just before it,
		// but never before one created two places earlier.
		Expect(startOrder).To(ConsistOf(names))
		position := map[string]int{}
		for i, n := range startOrder {
			position[n] = i
		}
		for j := 2; j < len(names); j++ {
			Expect(position[names[j]]).To(BeNumerically(">", position[names[j-2]]),
				"%s started before %s: start order %v", names[j], names[j-2], startOrder)
		}
	})

	It("resumes after the controller is stopped mid-copy, with exactly one snapshot", func() {
		ns := projectNamespace("proj-media-prd", "media")
		cloud.CreateDBInstance("media-prd-db", fixtures.ProjectTag("media"))
		cloud.SeedDocumentLibrary("liferay-media-prd-dl", 300, fixtures.ProjectTag("media"))
		cloud.CreateBucket("media-backups", fixtures.ProjectTag("media"))
		opts := controllerOptions()
		opts.CopyConcurrency = 2
		By("letting 20 copies through, then holding both copy workers")
		slowProxy.Hold(harness.CopiesAfter("media-backups", "media/prd/1/", 20))
		DeferCleanup(slowProxy.Release)
		ctrlr = startController(slowProxy.URL, opts)

		br := newBackupRequest(ns, "media-backup", "media", backups.Full("media-prd-db", "liferay-media-prd-dl", "media-backups", "media/prd/1/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		waitParked(slowProxy, opts.CopyConcurrency)

		By("stopping the controller in the middle of the copy")
		ctrlr.Stop()
		slowProxy.Drop() // the stopped controller's parked copies never arrive
		stopped := getBR(ns, br.Name)
		Expect(stopped.Status.Phase).To(Equal(backupv1alpha1.PhaseInProgress))
		copiedBefore := len(cloud.ListKeys("media-backups", "media/prd/1/data/"))
		Expect(copiedBefore).To(Equal(20), "the copy must have been interrupted after the copies let through")

		By("starting it again")
		ctrlr = startController(slowProxy.URL, opts)
		Eventually(phaseOf(ns, br.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		done := getBR(ns, br.Name)
		Expect(cloud.SnapshotIDs("media-prd-db")).To(HaveLen(1))
		Expect(done.Status.DocumentLibrary.ObjectsTotal).To(BeEquivalentTo(300))
		Expect(done.Status.DocumentLibrary.ObjectsSkipped).To(BeNumerically(">=", copiedBefore), "objects copied before the stop are not copied again")
		Expect(cloud.ListKeys("media-backups", "media/prd/1/data/")).To(HaveLen(300))
		Expect(done.Status.DocumentLibrary.ObjectsTotal).To(BeEquivalentTo(300), "the OBJECTS column counts what the backup holds, not what the last run copied")
	})

	It("fails with an actionable reason and a Warning event when the database instance does not exist", func() {
		ns := projectNamespace("proj-ghost-prd", "ghost")
		ctrlr = startController(moto.Endpoint, controllerOptions())
		br := newBackupRequest(ns, "ghost-backup", "ghost", backups.Database("ghost-prd-db"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, br.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseFailed))
		failed := getBR(ns, br.Name)
		ready := failed.Status.Condition(backupv1alpha1.ConditionReady)
		Expect(ready.Reason).To(BeEquivalentTo(backupv1alpha1.ReasonNotFound))
		Expect(failed.Status.Message).To(Equal("database instance ghost-prd-db not found in us-east-1; check spec.database.instanceId"),
			"an actionable message, not the SDK's error chain")
		Eventually(func() []eventsv1.Event { return warningEventsFor(ns, br.Name) }).WithTimeout(2 * time.Minute).
			ShouldNot(BeEmpty())
	})

	It("refuses to back up another project's data and calls nothing in AWS", func() {
		ns := projectNamespace("proj-intruder", "intruder")
		cloud.CreateDBInstance("victim-prd-db", fixtures.ProjectTag("victim"))
		cloud.SeedDocumentLibrary("liferay-victim-prd-dl", 5, fixtures.ProjectTag("victim"))
		cloud.CreateBucket("intruder-backups", fixtures.ProjectTag("intruder"))
		ctrlr = startController(moto.Endpoint, controllerOptions())
		br := newBackupRequest(ns, "steal", "victim", backups.Full("victim-prd-db", "liferay-victim-prd-dl", "intruder-backups", "victim/loot/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, br.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseFailed))
		ready := getBR(ns, br.Name).Status.Condition(backupv1alpha1.ConditionReady)
		Expect(ready.Reason).To(BeEquivalentTo(backupv1alpha1.ReasonProjectMismatch))
		Expect(cloud.SnapshotIDs("victim-prd-db")).To(BeEmpty())
		Expect(cloud.ListKeys("intruder-backups", "")).To(BeEmpty())
	})
})

// copyTracker selects the server-side copies (CopyObject) into one destination bucket
// for a DelayProxy hold, and remembers which destination prefixes they wrote to.
type copyTracker struct {
	bucket string

	mu       sync.Mutex
	prefixes map[string]bool
}

// copyPath matches a path-style CopyObject path: /bucket/<project>/<env>/<n>/key.
var copyPath = regexp.MustCompile(`^/([^/]+)/([^/]+/[^/]+/[^/]+/)`)

// match is the hold's matcher: a CopyObject into the bucket.
func (c *copyTracker) match(r *http.Request) bool {
	m := copyPath.FindStringSubmatch(r.URL.Path)
	if r.Method != http.MethodPut || r.Header.Get("X-Amz-Copy-Source") == "" || m == nil || m[1] != c.bucket {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prefixes == nil {
		c.prefixes = map[string]bool{}
	}
	c.prefixes[m[2]] = true
	return true
}

// started returns the destination prefixes a copy reached the proxy for, sorted.
func (c *copyTracker) started() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.prefixes))
}

// parked returns the destination prefixes (of c.bucket) with a copy among held, as
// DelayProxy.Held lists them, sorted and without repeats.
func (c *copyTracker) parked(held []string) []string {
	set := map[string]bool{}
	for _, h := range held {
		method, path, _ := strings.Cut(h, " ")
		if m := copyPath.FindStringSubmatch(path); method == http.MethodPut && m != nil && m[1] == c.bucket {
			set[m[2]] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// backupWatch is what a user watching a namespace's BackupRequests sees: the latest
// state of each, the order in which they entered InProgress and the most InProgress
// at once.
type backupWatch struct {
	mu            sync.Mutex
	objects       map[string]*backupv1alpha1.BackupRequest
	startOrder    []string
	maxInProgress int
}

// watchBackupRequests watches namespace until the spec ends.
func watchBackupRequests(namespace string) *backupWatch {
	GinkgoHelper()
	var list backupv1alpha1.BackupRequestList
	w, err := k8sClient.Watch(suiteCtx, &list, client.InNamespace(namespace))
	Expect(err).NotTo(HaveOccurred())
	bw := &backupWatch{objects: map[string]*backupv1alpha1.BackupRequest{}}
	var stopping atomic.Bool // stopping the watch ends it with an error event
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error && !stopping.Load() {
				Fail(fmt.Sprintf("watch of %s failed: %v", namespace, ev.Object))
			}
			if br, ok := ev.Object.(*backupv1alpha1.BackupRequest); ok {
				bw.record(br, ev.Type == watch.Deleted)
			}
		}
	}()
	DeferCleanup(func() {
		stopping.Store(true)
		w.Stop()
		Eventually(done).WithTimeout(time.Minute).Should(BeClosed())
	})
	return bw
}

func (bw *backupWatch) record(br *backupv1alpha1.BackupRequest, deleted bool) {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	before, known := bw.objects[br.Name]
	if deleted {
		delete(bw.objects, br.Name)
		return
	}
	bw.objects[br.Name] = br
	running := br.Status.Phase == backupv1alpha1.PhaseInProgress
	if running && (!known || before.Status.Phase != backupv1alpha1.PhaseInProgress) {
		bw.startOrder = append(bw.startOrder, br.Name)
	}
	bw.maxInProgress = max(bw.maxInProgress, len(bw.inProgressLocked()))
}

func (bw *backupWatch) inProgressLocked() []string {
	var out []string
	for name, br := range bw.objects {
		if br.Status.Phase == backupv1alpha1.PhaseInProgress {
			out = append(out, name)
		}
	}
	return out
}

// latest returns the last state seen of every BackupRequest, by name.
func (bw *backupWatch) latest() map[string]*backupv1alpha1.BackupRequest {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	out := make(map[string]*backupv1alpha1.BackupRequest, len(bw.objects))
	for name, br := range bw.objects {
		out[name] = br.DeepCopy()
	}
	return out
}

// phase returns the last phase seen of name ("" before it was seen).
func (bw *backupWatch) phase(name string) backupv1alpha1.BackupPhase {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	if br, ok := bw.objects[name]; ok {
		return br.Status.Phase
	}
	return ""
}

// inProgress returns the names last seen InProgress.
func (bw *backupWatch) inProgress() []string {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	return bw.inProgressLocked()
}

// starts returns the names in the order they entered InProgress, and the most seen
// InProgress at once.
func (bw *backupWatch) starts() ([]string, int) {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	return slices.Clone(bw.startOrder), bw.maxInProgress
}

// waitParked waits until n requests are parked in proxy: every worker of a held copy.
func waitParked(proxy *harness.DelayProxy, n int) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(suiteCtx, 2*time.Minute)
	defer cancel()
	held, err := proxy.WaitHeld(ctx, func(held []string) bool { return len(held) >= n })
	Expect(err).NotTo(HaveOccurred(), "parked: %v", held)
}
