package cli

import (
	"fmt"
	"strings"
	"time"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
)

// progress is one observation of a backup or a restore as --wait shows it.
type progress struct {
	// what is "backup <name>" or "restore <name>".
	what  string
	phase string
	// objects done of total (total 0: not known yet), bytes done of totalBytes.
	objects, totalObjects int64
	bytes, totalBytes     int64
	// detail is what else moves: the snapshot's progress, a queue position.
	detail string
}

func backupProgress(br *backupv1alpha1.BackupRequest) progress {
	st := &br.Status
	p := progress{what: "backup " + br.Name, phase: phaseOr(string(st.Phase))}
	if dl := st.DocumentLibrary; dl != nil {
		p.objects, p.totalObjects = dl.ObjectsCopied+dl.ObjectsSkipped, dl.ObjectsTotal
		p.bytes, p.totalBytes = dl.BytesCopied, dl.TotalSizeBytes
	}
	switch {
	case st.Phase == backupv1alpha1.PhasePending && st.Message != "":
		p.detail = st.Message
	case st.Database != nil && st.Database.Status != "" && !strings.EqualFold(st.Database.Status, "available"):
		p.detail = fmt.Sprintf("snapshot %s %d%%", st.Database.Status, st.Database.PercentProgress)
	}
	return p
}

func restoreProgress(rr *backupv1alpha1.RestoreRequest) progress {
	st := &rr.Status
	p := progress{what: "restore " + rr.Name, phase: phaseOr(string(st.Phase))}
	if rr.Spec.VerifyOnly {
		p.what = "verification " + rr.Name
		if st.Source != nil {
			p.totalObjects = st.Source.Objects
		}
		if st.Verification != nil {
			p.objects = st.Verification.ObjectsChecked
		}
	}
	if dl := st.DocumentLibrary; dl != nil {
		p.objects, p.totalObjects = dl.ObjectsRestored+dl.ObjectsSkipped, dl.ObjectsTotal
		p.bytes = dl.BytesRestored
	}
	switch {
	case st.Phase == backupv1alpha1.RestorePhasePending && st.Message != "":
		p.detail = st.Message
	case st.Database != nil && st.Database.Status != "" && !strings.EqualFold(st.Database.Status, "available"):
		p.detail = "database " + st.Database.Status
	}
	return p
}

func phaseOr(p string) string {
	if p == "" {
		return "New"
	}
	return p
}

// counts is "objects 12/25, 1.2 MiB" (or "1.2 MiB/2.5 MiB" when the total is known).
func (p progress) counts() string {
	var parts []string
	if p.totalObjects > 0 || p.objects > 0 {
		parts = append(parts, fmt.Sprintf("objects %d/%s", p.objects, orUnknown(p.totalObjects)))
	}
	if p.bytes > 0 || p.totalBytes > 0 {
		b := manifest.HumanBytes(p.bytes)
		if p.totalBytes > 0 {
			b += "/" + manifest.HumanBytes(p.totalBytes)
		}
		parts = append(parts, b)
	}
	if p.detail != "" {
		parts = append(parts, p.detail)
	}
	return strings.Join(parts, ", ")
}

func orUnknown(n int64) string {
	if n <= 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

// plainLine is the line printed when stdout is not a terminal, once per change:
// "backup prd-20251109020000: InProgress, objects 12/25, 1.2 MiB".
func (p progress) plainLine() string {
	if c := p.counts(); c != "" {
		return p.what + ": " + p.phase + ", " + c
	}
	return p.what + ": " + p.phase
}

// barWidth is the width of the progress bar between its brackets.
const barWidth = 24

// barLine is the line redrawn on a terminal: phase, a bar of objects done, the
// counts and the byte rate.
func (p progress) barLine(rate float64) string {
	line := p.what + " " + p.phase
	if p.totalObjects > 0 {
		frac := min(float64(p.objects)/float64(p.totalObjects), 1)
		filled := int(frac * barWidth)
		line += fmt.Sprintf(" [%s%s] %3.0f%%", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), frac*100)
	}
	if c := p.counts(); c != "" {
		line += " " + c
	}
	if rate > 0 {
		line += " " + manifest.HumanBytes(int64(rate)) + "/s"
	}
	return line
}

// rateMeter is the byte rate since the first observation with bytes moving.
type rateMeter struct {
	since      time.Time
	sinceBytes int64
	started    bool
}

// observe records bytes at now and returns the rate in bytes per second (0 until
// there are two observations).
func (m *rateMeter) observe(bytes int64, now time.Time) float64 {
	if !m.started {
		m.since, m.sinceBytes, m.started = now, bytes, true
		return 0
	}
	elapsed := now.Sub(m.since).Seconds()
	if elapsed <= 0 || bytes <= m.sinceBytes {
		return 0
	}
	return float64(bytes-m.sinceBytes) / elapsed
}
