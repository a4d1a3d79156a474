package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

func (a *app) scheduleCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "schedule", Aliases: []string{"schedules"}, Short: "List, describe, suspend, resume and run BackupSchedules"}
	cmd.AddCommand(a.scheduleListCommand(), a.scheduleDescribeCommand(),
		a.scheduleSuspendCommand("suspend", true), a.scheduleSuspendCommand("resume", false), a.scheduleRunNowCommand())
	return cmd
}

func (a *app) scheduleListCommand() *cobra.Command {
	return listCommand(a, "schedules", "List BackupSchedules: NAME, SCHEDULE, TZ, SUSPENDED, LAST SUCCESS, NEXT, ACTIVE, MISSED",
		&backupv1alpha1.BackupScheduleList{}, func(l *backupv1alpha1.BackupScheduleList, withNamespace bool, now time.Time) ([]string, [][]string) {
			return scheduleRows(l.Items, withNamespace, now)
		})
}

// scheduleRows is the schedule list table, by namespace and name.
func scheduleRows(items []backupv1alpha1.BackupSchedule, withNamespace bool, now time.Time) ([]string, [][]string) {
	items = slices.Clone(items)
	slices.SortFunc(items, func(x, y backupv1alpha1.BackupSchedule) int {
		if c := strings.Compare(x.Namespace, y.Namespace); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	header := []string{"NAME", "SCHEDULE", "TZ", "SUSPENDED", "LAST SUCCESS", "NEXT", "ACTIVE", "MISSED"}
	if withNamespace {
		header = append([]string{"NAMESPACE"}, header...)
	}
	rows := make([][]string, 0, len(items))
	for i := range items {
		s := &items[i]
		st := &s.Status
		effective := st.EffectiveSchedule
		if effective == "" {
			effective = s.Spec.Schedule
		}
		next := until(st.NextScheduleTime, now)
		if s.Spec.Suspend {
			next = "<suspended>"
		}
		row := []string{s.Name, effective, orDefault(s.Spec.TimeZone, "UTC"), fmt.Sprint(s.Spec.Suspend),
			until(st.LastSuccessfulTime, now), next, fmt.Sprint(len(st.Active)), fmt.Sprint(st.MissedRuns)}
		if withNamespace {
			row = append([]string{s.Namespace}, row...)
		}
		rows = append(rows, row)
	}
	return header, rows
}

func (a *app) scheduleDescribeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a BackupSchedule: spec, status, conditions, events and its backups, newest first",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.describeSchedule(cmd.Context(), args[0])
		},
	}
}

func (a *app) describeSchedule(ctx context.Context, name string) error {
	sched := &backupv1alpha1.BackupSchedule{}
	if err := a.cl.Get(ctx, client.ObjectKey{Namespace: a.namespace, Name: name}, sched); err != nil {
		return fmt.Errorf("get schedule %s: %w", name, err)
	}
	now := a.now()
	w := a.out()
	s := &section{w: w}
	s.header(sched, now)

	spec := &sched.Spec
	s.add("Schedule", spec.Schedule)
	s.add("Time zone", orDefault(spec.TimeZone, "UTC"))
	s.add("Suspended", fmt.Sprint(spec.Suspend))
	s.add("Concurrency", orDefault(string(spec.ConcurrencyPolicy), string(backupv1alpha1.ConcurrencyForbid)))
	if spec.StartingDeadlineSeconds != nil {
		s.add("Starting deadline", (time.Duration(*spec.StartingDeadlineSeconds) * time.Second).String())
	}
	t := &spec.Template
	s.add("Backs up", t.ProjectID+"/"+t.Environment)
	if db := t.Database; db != nil {
		s.add("Database", fmt.Sprintf("%s of instance %s", orDefault(string(db.Type), "snapshot"), db.InstanceID))
	}
	if dl := t.DocumentLibrary; dl != nil {
		s.add("Document library", fmt.Sprintf("s3://%s/%s -> s3://%s/%s", dl.SourceBucket, dl.SourcePrefix, dl.DestinationBucket, sched.RunPrefix("<slot>")))
	}
	if r := spec.Retention; r != nil {
		s.add("Retention", retentionSummary(r))
	} else if t.RetentionDays != nil {
		s.add("Retention", fmt.Sprintf("%d days each", *t.RetentionDays))
	}
	s.flush("Spec")

	st := &sched.Status
	s.add("Effective schedule", orNone(st.EffectiveSchedule))
	s.add("Last scheduled", timestamp(st.LastScheduleTime, now))
	s.add("Last backup", orNone(st.LastBackup))
	s.add("Last success", timestamp(st.LastSuccessfulTime, now))
	s.add("Next", timestamp(st.NextScheduleTime, now))
	s.add("Active", orNone(strings.Join(st.Active, ", ")))
	s.add("Missed runs", fmt.Sprint(st.MissedRuns))
	s.addIf("Last missed", optionalTime(st.LastMissedTime, now))
	if sk := st.LastSkipped; sk != nil {
		s.add("Last skipped", fmt.Sprintf("%s (%s): %s", sk.Time.UTC().Format(time.RFC3339), sk.Reason, sk.Message))
	}
	s.flush("Status")

	writeConditions(w, st.Conditions, now)
	if err := a.writeEvents(ctx, w, sched, now); err != nil {
		return err
	}

	var backups backupv1alpha1.BackupRequestList
	if err := a.cl.List(ctx, &backups, client.InNamespace(sched.Namespace), client.MatchingLabels{backupv1alpha1.ScheduleLabel: sched.Name}); err != nil {
		return fmt.Errorf("list backups of schedule %s: %w", sched.Name, err)
	}
	fprintln(w, "Backups (label "+backupv1alpha1.ScheduleLabel+"="+sched.Name+", newest first):")
	if len(backups.Items) == 0 {
		fprintln(w, "  <none>")
		return nil
	}
	header, rows := backupRows(backups.Items, false, now)
	slices.Reverse(rows)
	header[0] = "  " + header[0]
	for _, r := range rows {
		r[0] = "  " + r[0]
	}
	return table(w, header, rows)
}

func retentionSummary(r *backupv1alpha1.ScheduleRetention) string {
	var parts []string
	for _, k := range []struct {
		name string
		n    *int32
	}{{"last", r.KeepLast}, {"hourly", r.KeepHourly}, {"daily", r.KeepDaily}, {"weekly", r.KeepWeekly}, {"monthly", r.KeepMonthly}, {"yearly", r.KeepYearly}} {
		if k.n != nil {
			parts = append(parts, fmt.Sprintf("%d %s", *k.n, k.name))
		}
	}
	return "keep " + strings.Join(parts, ", ")
}

// scheduleSuspendCommand is suspend (suspend=true) or resume: a merge patch of spec.suspend.
func (a *app) scheduleSuspendCommand(verb string, suspend bool) *cobra.Command {
	short := "Suspend a BackupSchedule: no new runs; running backups continue"
	if !suspend {
		short = "Resume a BackupSchedule: from the next slot (slots passed while suspended are not run)"
	}
	return &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sched := &backupv1alpha1.BackupSchedule{}
			sched.Namespace, sched.Name = a.namespace, args[0]
			patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"spec":{"suspend":%t}}`, suspend))
			if err := a.cl.Patch(cmd.Context(), sched, patch); err != nil {
				return fmt.Errorf("%s schedule %s: %w", verb, args[0], err)
			}
			past := map[bool]string{true: "suspended", false: "resumed"}[suspend]
			fprintf(a.out(), "backupschedule.backup.liferay.cloud/%s %s\n", sched.Name, past)
			return nil
		},
	}
}

func (a *app) scheduleRunNowCommand() *cobra.Command {
	o := &createOptions{dryRun: "none"}
	cmd := &cobra.Command{
		Use:   "run-now NAME",
		Short: "Back up now from the schedule's template (backup create --from-schedule NAME)",
		Long: `Create a BackupRequest from the template of schedule NAME, as backup create
--from-schedule NAME does: named <ENV>-<YYYYMMDDHHMMSS>, annotated
backup.liferay.cloud/run-of-schedule=NAME, without the schedule label or an owner
reference, so the schedule's retention neither counts nor expires it.`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sched := &backupv1alpha1.BackupSchedule{}
			if err := a.cl.Get(cmd.Context(), client.ObjectKey{Namespace: a.namespace, Name: args[0]}, sched); err != nil {
				return fmt.Errorf("get schedule %s: %w", args[0], err)
			}
			o.fromSchedule = sched.Name
			return a.createBackup(cmd.Context(), sched.Spec.Template.Environment, o)
		},
	}
	o.addWaitFlags(cmd)
	return cmd
}
