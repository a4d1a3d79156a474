{{/* Chart name, overridable. */}}
{{- define "lc2-backup-controller.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name: <release>-lc2-backup-controller, or the release name
when it already contains the chart name. */}}
{{- define "lc2-backup-controller.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "lc2-backup-controller.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "lc2-backup-controller.labels" -}}
helm.sh/chart: {{ include "lc2-backup-controller.chart" . }}
{{ include "lc2-backup-controller.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels selecting the manager's pods. */}}
{{- define "lc2-backup-controller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lc2-backup-controller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end }}

{{- define "lc2-backup-controller.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lc2-backup-controller.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Annotations of the controller's ServiceAccount: serviceAccount.annotations plus the
workload identity ones (GKE: iam.gke.io/gcp-service-account, Azure:
azure.workload.identity/client-id). The same key in serviceAccount.annotations with
another value is refused rather than silently overridden. */}}
{{- define "lc2-backup-controller.serviceAccountAnnotations" -}}
{{- $annotations := deepCopy (.Values.serviceAccount.annotations | default dict) }}
{{- $identity := dict }}
{{- with .Values.gcp.workloadIdentity.serviceAccount }}
{{- $_ := set $identity "iam.gke.io/gcp-service-account" . }}
{{- end }}
{{- with .Values.azure.workloadIdentity.clientId }}
{{- $_ := set $identity "azure.workload.identity/client-id" . }}
{{- end }}
{{- range $key, $value := $identity }}
{{- if and (hasKey $annotations $key) (ne (index $annotations $key) $value) }}
{{- fail (printf "serviceAccount.annotations sets %s to %q, the workload identity value %q: set it in one place" $key (index $annotations $key) $value) }}
{{- end }}
{{- $_ := set $annotations $key $value }}
{{- end }}
{{- with $annotations }}
{{- toYaml . }}
{{- end }}
{{- end }}
