package integration

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/setup"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
	"github.com/liferay/lc2-backup-controller/test/fixtures/restores"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

// emulatedStore is one store the controller serves besides aws, on its emulator: the
// same specs run on each (Full and Incremental restored byte for byte, retention,
// cross-project refusals, a copy resumed after a kill, the chunked path).
type emulatedStore struct {
	provider backupv1alpha1.CloudProvider
	// start starts the emulator and returns the store's endpoint (what the provider and
	// the fixtures talk to), a fixture on it and a stop function.
	start func(endpoint func(string) string) (fixtures.ObjectStore, func(*setup.Config), func())
	// isCopyInto matches a server-side copy request into bucket under prefix.
	isCopyInto func(r *http.Request, bucket, prefix string) bool
	// isChunkedCopy matches a request of the chunked copy path, when the store has one
	// the emulator serves.
	isChunkedCopy func(r *http.Request) bool
	// tagCommand is what the store's ownership refusal tells the user to run.
	tagCommand string
}

var emulatedStores = []emulatedStore{
	{
		provider: backupv1alpha1.ProviderAzure,
		start: func(via func(string) string) (fixtures.ObjectStore, func(*setup.Config), func()) {
			az, err := harness.StartAzurite(suiteCtx)
			Expect(err).NotTo(HaveOccurred())
			accountURL := via(az.AccountURL)
			return fixtures.NewAzure(suiteCtx, az.AccountURL, az.AccountName, az.AccountKey), func(c *setup.Config) {
				c.Azure.AccountURL, c.Azure.AccountName, c.Azure.AccountKey = accountURL, az.AccountName, az.AccountKey
			}, az.Stop
		},
		// Copy Blob From URL, and Put Block From URL of the chunked path.
		isCopyInto: func(r *http.Request, bucket, prefix string) bool {
			return r.Method == http.MethodPut && r.Header.Get("X-Ms-Copy-Source") != "" &&
				strings.Contains(unescapedPath(r), "/"+bucket+"/"+prefix)
		},
		isChunkedCopy: func(r *http.Request) bool {
			return r.Method == http.MethodPut && r.URL.Query().Get("comp") == "block" && r.Header.Get("X-Ms-Copy-Source") != ""
		},
		tagCommand: "az storage container metadata update",
	},
	{
		provider: backupv1alpha1.ProviderGCP,
		start: func(via func(string) string) (fixtures.ObjectStore, func(*setup.Config), func()) {
			gcs, err := harness.StartFakeGCS(suiteCtx)
			Expect(err).NotTo(HaveOccurred())
			labels, err := harness.NewGCSLabelProxy(gcs.Endpoint)
			Expect(err).NotTo(HaveOccurred())
			endpoint := via(labels.URL)
			return fixtures.NewGCS(suiteCtx, labels.URL), func(c *setup.Config) { c.GCP.Endpoint = endpoint },
				func() { labels.Close(); gcs.Stop() }
		},
		// objects.rewrite: POST /storage/v1/b/<src>/o/<object>/rewriteTo/b/<dst>/o/<object>.
		isCopyInto: func(r *http.Request, bucket, prefix string) bool {
			return r.Method == http.MethodPost && strings.Contains(unescapedPath(r), "/rewriteTo/b/"+bucket+"/o/"+prefix)
		},
		tagCommand: "gcloud storage buckets update",
	},
}

// isDelete matches the deletes of every store: a DELETE (S3, Cloud Storage), an S3
// multi-object delete (POST ?delete), an Azure blob batch (POST ?comp=batch) and a
// Cloud Storage batch (POST /batch/...).
func isDelete(r *http.Request) bool {
	return r.Method == http.MethodDelete || r.Method == http.MethodPost && r.URL.Query().Has("delete") || r.URL.Query().Get("comp") == "batch" || strings.HasPrefix(r.URL.Path, "/batch/")
}

func unescapedPath(r *http.Request) string {
	if p, err := url.PathUnescape(r.URL.EscapedPath()); err == nil {
		return p
	}
	return r.URL.Path
}

var _ = Describe("Backups on every store", func() {
	for _, store := range emulatedStores {
		Describe("on "+string(store.provider)+" (its emulator)", Ordered, func() {
			project := "st" + string(store.provider)
			var (
				ns, source, dest, restored, foreign string
				objects                             fixtures.ObjectStore
				configure                           func(*setup.Config)
				stopStore                           func()
				proxy                               *harness.DelayProxy
				ctrlr                               *runningController
				wanted                              []string
			)
			opts := controllerOptions()
			opts.RetentionCheckInterval = 500 * time.Millisecond
			// Scaled down as bench-copy does: an object above 5 MiB takes the chunked path.
			opts.MultipartThreshold = 5 << 20
			start := func() {
				ctrlr = startController(moto.Endpoint, opts, func(c *setup.Config) {
					c.Providers = []string{"aws", string(store.provider)}
					configure(c)
				})
			}
			backup := func(name string, extra ...backups.Option) *backupv1alpha1.BackupRequest {
				GinkgoHelper()
				br := newBackupRequest(ns, name, project, append([]backups.Option{
					backups.DocumentLibrary(source, dest, project+"/prd/"+name+"/"), withProvider(store.provider)}, extra...)...)
				Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
				Eventually(phaseOf(ns, name)).WithTimeout(2*time.Minute).
					Should(BeElementOf(backupv1alpha1.PhaseSucceeded, backupv1alpha1.PhaseFailed), name)
				return getBR(ns, name)
			}
			libraryOn := func(bucket string) map[string][]byte {
				GinkgoHelper()
				state := fixtures.ContentsOf(objects, bucket, "document_library/")
				for _, k := range fixtures.GeneratedFiles {
					delete(state, strings.TrimPrefix(k, "document_library/"))
				}
				return state
			}

			BeforeAll(func() {
				ns = projectNamespace("proj-"+project+"-prd", project)
				source, dest, restored, foreign = project+"-prd-dl", project+"-backups", project+"-restored", project+"-other-dl"
				var err error
				var target string
				objects, configure, stopStore = store.start(func(endpoint string) string {
					target = endpoint
					// The proxy forwards to the host; the account path (Azurite's
					// /devstoreaccount1) stays on the proxy's URL.
					u, perr := url.Parse(endpoint)
					Expect(perr).NotTo(HaveOccurred())
					proxy, err = harness.NewDelayProxy(u.Scheme + "://" + u.Host)
					Expect(err).NotTo(HaveOccurred())
					return strings.TrimRight(proxy.URL+u.Path, "/")
				})
				Expect(target).NotTo(BeEmpty())
				wanted = fixtures.SeedDocumentLibraryIn(objects, source, 12, fixtures.ProjectTag(project))
				objects.CreateBucket(dest, fixtures.ProjectTag(project))
				objects.CreateBucket(restored, fixtures.ProjectTag(project))
				fixtures.SeedDocumentLibraryIn(objects, foreign, 2, fixtures.ProjectTag("someone-else"))
				start()
			})
			AfterAll(func() {
				if ctrlr != nil {
					ctrlr.Stop()
				}
				if proxy != nil {
					proxy.Close()
				}
				if stopStore != nil {
					stopStore()
				}
			})

			It("backs up in Full and restores every file byte for byte", func() {
				br := backup("full-1")
				Expect(br.Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded), br.Status.Message)
				Expect(br.Status.DocumentLibrary.ObjectsTotal).To(BeEquivalentTo(len(wanted)))
				Expect(objects.ListKeys(dest, project+"/prd/full-1/data/")).To(HaveLen(len(wanted)))
				Expect(objects.ListKeys(dest, project+"/prd/full-1/")).To(ContainElements("claim.json", "manifest.json"))

				rr := runRestore(restores.New(ns, "full-1-restore", restores.FromBackup("full-1"), restores.Files(restored, "full-1/", "")))
				Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
				Expect(fixtures.ContentsOf(objects, restored, "full-1/")).To(Equal(libraryOn(source)))
			})

			It("restores from the manifest URL alone, on the store spec.source.provider names (disaster recovery)", func() {
				location := getBR(ns, "full-1").Status.Manifest.Location
				rr := restores.New(ns, "full-1-from-manifest", restores.FromManifest(location), restores.Files(restored, "from-manifest/", ""))
				rr.Spec.Source.Provider = store.provider
				rr = runRestore(rr)
				Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
				Expect(fixtures.ContentsOf(objects, restored, "from-manifest/")).To(Equal(fixtures.ContentsOf(objects, restored, "full-1/")))
			})

			It("backs up Incrementally, copying only what changed, and restores each backup as it was", func() {
				b1 := backup("inc-1", backups.Incremental())
				Expect(b1.Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded), b1.Status.Message)
				state1 := libraryOn(source)
				objects.PutObject(source, "document_library/20097/20121/3000/1.0", []byte("added after the first"))
				objects.PutObject(source, "document_library/20097/20121/1000/1.0", []byte("replaced in place"))
				time.Sleep(1100 * time.Millisecond) // completion times have second resolution: the second must be newer
				b2 := backup("inc-2", backups.Incremental())
				Expect(b2.Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded), b2.Status.Message)
				dl := b2.Status.DocumentLibrary
				Expect([]int64{dl.ObjectsTotal, dl.ObjectsCopied, dl.ObjectsReferenced}).To(Equal([]int64{int64(len(wanted)) + 1, 2, int64(len(wanted)) - 1}))
				state2 := libraryOn(source)

				for name, want := range map[string]map[string][]byte{"inc-1": state1, "inc-2": state2} {
					rr := runRestore(restores.New(ns, name+"-restore", restores.FromBackup(name), restores.Files(restored, name+"/", "")))
					Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
					Expect(fixtures.ContentsOf(objects, restored, name+"/")).To(Equal(want), name)
				}
			})

			It("expires a backup by deleting exactly what its inventory lists", func() {
				br := backup("expiring")
				Expect(br.Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded), br.Status.Message)
				prefix := project + "/prd/expiring/"
				written := objects.ListKeys(dest, prefix)
				Expect(written).To(ContainElement("manifest.json"))
				By("a user's own object under the backup's prefix, which the backup did not write")
				objects.PutObject(dest, prefix+"notes/keep-me.txt", []byte("not the controller's"))
				time.Sleep(1100 * time.Millisecond) // a newer backup, so the expiring one is not the newest kept
				Expect(backup("newer").Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded))
				expireNow(getBR(ns, "expiring"))
				Eventually(phaseOf(ns, "expiring")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
				Expect(objects.ListKeys(dest, prefix)).To(Equal([]string{"notes/keep-me.txt"}))
				Expect(objects.ListKeys(dest, project+"/prd/newer/data/")).To(HaveLen(len(wanted)+1), "another backup's files stay")
			})

			It("keeps every object of an expiring backup while the store refuses its deletes, and expires it once they pass", func() {
				br := backup("guarded")
				Expect(br.Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded), br.Status.Message)
				prefix := project + "/prd/guarded/"
				before := fixtures.ContentsOf(objects, dest, prefix)
				Expect(before).To(HaveKey("manifest.json"))
				time.Sleep(1100 * time.Millisecond) // a newer backup, so the guarded one is not the newest kept
				Expect(backup("guarded-newer").Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded))

				By("the store answering 503 to every delete")
				proxy.Refuse(isDelete)
				DeferCleanup(func() { proxy.Accept() })
				expireNow(getBR(ns, "guarded"))
				Eventually(proxy.Refused).WithTimeout(2*time.Minute).Should(BeNumerically(">=", 1), "retention tried to delete")
				Consistently(phaseOf(ns, "guarded")).WithTimeout(3 * time.Second).Should(Equal(backupv1alpha1.PhaseSucceeded))
				Expect(fixtures.ContentsOf(objects, dest, prefix)).To(Equal(before), "a refused delete removes nothing, and nothing else goes instead")

				By("the store accepting them again")
				Expect(proxy.Accept()).To(BeNumerically(">=", 1))
				Eventually(phaseOf(ns, "guarded")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
				Expect(objects.ListKeys(dest, prefix)).To(BeEmpty())
				Expect(objects.ListKeys(dest, project+"/prd/guarded-newer/data/")).NotTo(BeEmpty(), "the newer backup stays")
			})

			It("refuses another project's bucket before any write, saying how to label it on this store", func() {
				br := newBackupRequest(ns, "foreign", project, backups.DocumentLibrary(foreign, dest, project+"/prd/foreign/"), withProvider(store.provider))
				Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
				Eventually(phaseOf(ns, "foreign")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseFailed))
				failed := getBR(ns, "foreign")
				Expect(failed.Status.Message).To(ContainSubstring("spec.documentLibrary.sourceBucket"))
				Expect(failed.Status.Message).To(ContainSubstring("someone-else"))
				Expect(objects.ListKeys(dest, project+"/prd/foreign/")).To(BeEmpty(), "nothing written")

				By("a bucket without the label names the store's own command")
				objects.CreateBucket(project + "-untagged")
				br = newBackupRequest(ns, "untagged", project, backups.DocumentLibrary(project+"-untagged", dest, project+"/prd/untagged/"), withProvider(store.provider))
				Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
				Eventually(phaseOf(ns, "untagged")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseFailed))
				msg := getBR(ns, "untagged").Status.Message
				Expect(msg).To(ContainSubstring(store.tagCommand))
				Expect(msg).NotTo(ContainSubstring("aws s3api"))
				Expect(objects.ListKeys(dest, project+"/prd/untagged/")).To(BeEmpty(), "nothing written")

				By("a bucket that does not exist is named, with the field")
				br = newBackupRequest(ns, "missing", project, backups.DocumentLibrary(project+"-no-such-dl", dest, project+"/prd/missing/"), withProvider(store.provider))
				Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
				Eventually(phaseOf(ns, "missing")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseFailed))
				missing := getBR(ns, "missing")
				Expect(missing.Status.Condition(backupv1alpha1.ConditionReady).Reason).To(BeEquivalentTo(backupv1alpha1.ReasonNotFound))
				Expect(missing.Status.Message).To(And(ContainSubstring(project+"-no-such-dl"), ContainSubstring("spec.documentLibrary.sourceBucket")))
				Expect(objects.ListKeys(dest, project+"/prd/missing/")).To(BeEmpty(), "nothing written")
			})

			It("resumes a copy interrupted by a controller kill without copying again what it had copied", func() {
				const n, through = 40, 10
				big := project + "-big-dl"
				fixtures.SeedDocumentLibraryIn(objects, big, n, fixtures.ProjectTag(project))
				var copies atomic.Int64
				prefix := project + "/prd/resumed/data/"
				proxy.Hold(func(r *http.Request) bool {
					return store.isCopyInto(r, dest, prefix) && copies.Add(1) > through
				})
				DeferCleanup(proxy.Release)
				ctrlr.Stop()
				resumeOpts := opts
				resumeOpts.CopyConcurrency = 2
				ctrlr = startController(moto.Endpoint, resumeOpts, func(c *setup.Config) {
					c.Providers = []string{"aws", string(store.provider)}
					configure(c)
				})
				br := newBackupRequest(ns, "resumed", project, backups.DocumentLibrary(big, dest, project+"/prd/resumed/"), withProvider(store.provider))
				Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
				waitParked(proxy, resumeOpts.CopyConcurrency)

				By("killing the controller in the middle of the copy")
				ctrlr.Stop()
				proxy.Drop()
				Expect(getBR(ns, "resumed").Status.Phase).To(Equal(backupv1alpha1.PhaseInProgress))
				copiedBefore := len(objects.ListKeys(dest, prefix))
				Expect(copiedBefore).To(Equal(through))

				By("starting it again")
				var copiesAfter atomic.Int64
				proxy.Hold(func(r *http.Request) bool {
					if store.isCopyInto(r, dest, prefix) {
						copiesAfter.Add(1)
					}
					return false
				})
				start()
				Eventually(phaseOf(ns, "resumed")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
				done := getBR(ns, "resumed")
				Expect(done.Status.DocumentLibrary.ObjectsTotal).To(BeEquivalentTo(n))
				Expect(done.Status.DocumentLibrary.ObjectsSkipped).To(BeNumerically(">=", copiedBefore))
				Expect(copiesAfter.Load()).To(BeEquivalentTo(n-copiedBefore), "only what was missing is copied")
				Expect(objects.ListKeys(dest, prefix)).To(HaveLen(n))
			})

			if store.provider == backupv1alpha1.ProviderGCP {
				// fake-gcs-server finishes every rewrite in one call; the proxy answers the
				// first call done:false with a token, as GCS does for a large object.
				It("resumes a rewrite under way when the controller was killed from the token status recorded", func() {
					const token = "lc2-test-rewrite-token-1"
					single := project + "-single-dl"
					objects.CreateBucket(single, fixtures.ProjectTag(project))
					data := []byte("a document whose rewrite takes several calls")
					objects.PutObject(single, "document_library/20097/20121/7/1.0", data)
					prefix := project + "/prd/rewritten/data/"
					key := prefix + "20097/20121/7/1.0"
					isRewrite := func(r *http.Request) bool { return store.isCopyInto(r, dest, prefix) }
					proxy.RefuseWith(func(r *http.Request) bool { return isRewrite(r) && r.URL.Query().Get("rewriteToken") == "" }, harness.Answer{
						Status: http.StatusOK, ContentType: "application/json",
						Body: `{"kind":"storage#rewriteResponse","done":false,"rewriteToken":"` + token + `","totalBytesRewritten":"0","objectSize":"44"}`,
					})
					proxy.Hold(func(r *http.Request) bool { return isRewrite(r) && r.URL.Query().Get("rewriteToken") == token })
					DeferCleanup(func() { proxy.Accept(); proxy.Release() })
					br := newBackupRequest(ns, "rewritten", project, backups.DocumentLibrary(single, dest, project+"/prd/rewritten/"), withProvider(store.provider))
					Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
					waitParked(proxy, 1)
					Eventually(func() []backupv1alpha1.CopyResumeToken {
						if dl := getBR(ns, "rewritten").Status.DocumentLibrary; dl != nil {
							return dl.ResumeTokens
						}
						return nil
					}).Should(Equal([]backupv1alpha1.CopyResumeToken{{Key: key, Token: token}}), "status keeps the token of the rewrite under way")

					By("killing the controller in the middle of the rewrite, and starting it again")
					ctrlr.Stop()
					proxy.Drop()
					proxy.Accept()
					var mu sync.Mutex
					var tokens []string
					proxy.Hold(func(r *http.Request) bool {
						if isRewrite(r) {
							mu.Lock()
							tokens = append(tokens, r.URL.Query().Get("rewriteToken"))
							mu.Unlock()
						}
						return false
					})
					start()
					Eventually(phaseOf(ns, "rewritten")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
					mu.Lock()
					Expect(tokens).To(Equal([]string{token}), "the restarted copy resumed the rewrite with its token, once")
					mu.Unlock()
					done := getBR(ns, "rewritten")
					Expect(done.Status.DocumentLibrary.ResumeTokens).To(BeEmpty())
					Expect(objects.GetObject(dest, key)).To(Equal(data))
				})
			}

			It("copies an object above the threshold through the chunked path, byte for byte", func() {
				large := make([]byte, 9<<20+12345)
				for i := range large {
					large[i] = byte(i * 31 >> 7)
				}
				objects.PutObject(source, "document_library/20097/20121/9000/1.0", large)
				var chunked atomic.Int64
				proxy.Hold(func(r *http.Request) bool {
					if store.isChunkedCopy != nil && store.isChunkedCopy(r) {
						chunked.Add(1)
					}
					return false
				})
				DeferCleanup(proxy.Release)
				br := backup("large")
				Expect(br.Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded), br.Status.Message)
				Expect(objects.GetObject(dest, project+"/prd/large/data/20097/20121/9000/1.0")).To(Equal(large))
				if store.isChunkedCopy != nil {
					Expect(chunked.Load()).To(BeNumerically(">=", 1), "the large object was staged in ranges")
				}
			})
		})
	}
})

// withProvider sets the store a backup runs on.
func withProvider(p backupv1alpha1.CloudProvider) backups.Option {
	return func(br *backupv1alpha1.BackupRequest) { br.Spec.Provider = p }
}
