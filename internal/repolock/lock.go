// Package repolock is the per-repository lock of Incremental backups: a Kubernetes
// Lease per repository, shared by the backups copying into it and held alone by a
// sweep. A backup learns what the repository holds and later records the objects it references;
// a sweep in between would delete an object the backup is about to reference, so the
// two never overlap. Every change is an update of the Lease with its resourceVersion,
// so two controllers (or two workers) can never both think they hold it.
package repolock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Annotations of a repository Lease.
const (
	// RepositoryAnnotation names the repository (s3://bucket/prefix) the Lease guards.
	RepositoryAnnotation = "backup.liferay.cloud/repository"
	// HoldersAnnotation lists the backups holding the lock shared, as JSON.
	HoldersAnnotation = "backup.liferay.cloud/shared-holders"
)

// SweepLeaseDuration is how long a sweep's hold lasts without renewal: a sweep whose
// controller died stops blocking backups after it. Each sweep pass renews it.
const SweepLeaseDuration = 5 * time.Minute

// Holder is a backup holding the lock shared.
type Holder struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
}

// Locks takes and releases repository locks.
type Locks struct {
	// Reader reads the Lease around any cache: a stale read would only cost conflicts.
	Reader    client.Reader
	Client    client.Client
	Namespace string
	Clock     clock.PassiveClock
}

// LeaseName names the Lease of the repository at bucket/prefix.
func LeaseName(bucket, prefix string) string {
	sum := sha256.Sum256([]byte(bucket + "/" + prefix))
	return "lc2-repository-" + hex.EncodeToString(sum[:])[:20]
}

// AcquireShared adds h to the lock's shared holders unless a sweep holds it; it is
// idempotent. blocker says who holds it when ok is false.
func (l *Locks) AcquireShared(ctx context.Context, bucket, prefix string, h Holder) (ok bool, blocker string, err error) {
	err = l.update(ctx, bucket, prefix, func(lease *coordinationv1.Lease, holders []Holder) ([]Holder, bool) {
		if sweeper := l.activeSweeper(lease); sweeper != "" {
			blocker = "a sweep of the repository (" + sweeper + ")"
			return nil, false
		}
		ok = true
		if slices.Contains(holders, h) {
			return nil, false
		}
		return append(holders, h), true
	})
	return ok, blocker, err
}

// ReleaseShared removes h from the shared holders; a lock h does not hold is fine.
func (l *Locks) ReleaseShared(ctx context.Context, bucket, prefix string, h Holder) error {
	return l.update(ctx, bucket, prefix, func(_ *coordinationv1.Lease, holders []Holder) ([]Holder, bool) {
		i := slices.Index(holders, h)
		if i < 0 {
			return nil, false
		}
		return slices.Delete(holders, i, i+1), true
	})
}

// AcquireExclusive makes sweeper the lock's only holder, renewing its hold when it
// already has it. Shared holders for which alive reports false (a backup gone, or
// past its copy, whose release was lost in a crash) are dropped first; while any
// other holds it, ok is false and blocker says who.
func (l *Locks) AcquireExclusive(ctx context.Context, bucket, prefix, sweeper string, alive func(context.Context, Holder) (bool, error)) (ok bool, blocker string, err error) {
	var aliveErr error
	err = l.update(ctx, bucket, prefix, func(lease *coordinationv1.Lease, holders []Holder) ([]Holder, bool) {
		ok, blocker = false, ""
		if other := l.activeSweeper(lease); other != "" && other != sweeper {
			blocker = "another sweep of the repository (" + other + ")"
			return nil, false
		}
		var live []Holder
		for _, h := range holders {
			isAlive, err := alive(ctx, h)
			if err != nil {
				aliveErr = err
				return nil, false
			}
			if isAlive {
				live = append(live, h)
			}
		}
		if len(live) > 0 {
			blocker = fmt.Sprintf("%d backups copying into it (%s/%s first)", len(live), live[0].Namespace, live[0].Name)
			return live, len(live) != len(holders)
		}
		ok = true
		now := metav1.NewMicroTime(l.Clock.Now())
		lease.Spec.HolderIdentity = ptr.To(sweeper)
		lease.Spec.LeaseDurationSeconds = ptr.To(int32(SweepLeaseDuration / time.Second))
		lease.Spec.RenewTime = &now
		if lease.Spec.AcquireTime == nil {
			lease.Spec.AcquireTime = &now
		}
		return live, true
	})
	if err == nil {
		err = aliveErr // the change was abandoned: update saw nothing to write
	}
	if err != nil {
		ok = false
	}
	return ok, blocker, err
}

// ReleaseExclusive ends sweeper's hold, if it has it.
func (l *Locks) ReleaseExclusive(ctx context.Context, bucket, prefix, sweeper string) error {
	return l.update(ctx, bucket, prefix, func(lease *coordinationv1.Lease, holders []Holder) ([]Holder, bool) {
		if ptr.Deref(lease.Spec.HolderIdentity, "") != sweeper {
			return nil, false
		}
		lease.Spec.HolderIdentity, lease.Spec.RenewTime, lease.Spec.AcquireTime = nil, nil, nil
		return holders, true
	})
}

// activeSweeper is the sweep holding the lock, unless its hold has lapsed.
func (l *Locks) activeSweeper(lease *coordinationv1.Lease) string {
	holder := ptr.Deref(lease.Spec.HolderIdentity, "")
	if holder == "" || lease.Spec.RenewTime == nil {
		return ""
	}
	lapse := time.Duration(ptr.Deref(lease.Spec.LeaseDurationSeconds, int32(SweepLeaseDuration/time.Second))) * time.Second
	if l.Clock.Now().After(lease.Spec.RenewTime.Add(lapse)) {
		return ""
	}
	return holder
}

// update reads the repository's Lease (creating it when missing), lets change edit it
// and its shared holders, and writes it back with optimistic locking, retrying on
// conflict. change returns the new holders and whether anything changed.
func (l *Locks) update(ctx context.Context, bucket, prefix string, change func(*coordinationv1.Lease, []Holder) ([]Holder, bool)) error {
	key := client.ObjectKey{Namespace: l.Namespace, Name: LeaseName(bucket, prefix)}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease := &coordinationv1.Lease{}
		err := l.Reader.Get(ctx, key, lease)
		create := apierrors.IsNotFound(err)
		if err != nil && !create {
			return fmt.Errorf("read the repository lock %s: %w", key, err)
		}
		if create {
			lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
				Annotations: map[string]string{RepositoryAnnotation: "s3://" + bucket + "/" + prefix}}}
		}
		var holders []Holder
		if raw := lease.Annotations[HoldersAnnotation]; raw != "" {
			if err := json.Unmarshal([]byte(raw), &holders); err != nil {
				return fmt.Errorf("read the holders of the repository lock %s: %w", key, err)
			}
		}
		holders, changed := change(lease, holders)
		if !changed {
			return nil
		}
		raw, err := json.Marshal(holders)
		if err != nil {
			return fmt.Errorf("encode the holders of the repository lock %s: %w", key, err)
		}
		if lease.Annotations == nil {
			lease.Annotations = map[string]string{}
		}
		lease.Annotations[HoldersAnnotation] = string(raw)
		if create {
			err = l.Client.Create(ctx, lease)
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(coordinationv1.Resource("leases"), key.Name, err)
			}
		} else {
			err = l.Client.Update(ctx, lease)
		}
		if err != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("write the repository lock %s: %w", key, err)
		}
		return err
	})
}
