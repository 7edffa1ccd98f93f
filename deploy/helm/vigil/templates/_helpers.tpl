{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "vigil.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "vigil.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vigil.labels" -}}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* the agent's config file: outputs, metrics, rules, kubernetes */}}
{{- define "vigil.config" -}}
outputs:
{{- with .Values.outputs.stdout }}
{{- if .enabled }}
  - name: stdout
    stdout:
      format: {{ .format }}
    filter:
      events: {{ .events }}
{{- end }}
{{- end }}
{{- with .Values.outputs.falcosidekick }}
{{- if .enabled }}
  - name: falcosidekick
    webhook:
      url: {{ .url | quote }}
      payload: falco
    filter:
      min_severity: {{ .minSeverity }}
{{- end }}
{{- end }}
{{- with .Values.outputs.syslog }}
{{- if .enabled }}
  - name: syslog
    syslog:
      address: {{ .address | quote }}
      facility: {{ .facility }}
      format: json
    filter:
      min_severity: {{ .minSeverity }}
{{- end }}
{{- end }}
{{- with .Values.outputs.extra }}
{{ toYaml . | indent 2 }}
{{- end }}
metrics:
  address: {{ printf "0.0.0.0:%v" .Values.metrics.port | quote }}
  allow_non_loopback: true
rules:
  default_rules: {{ .Values.rules.defaultRules }}
  paths: [/etc/vigil/rules.d]
kubernetes:
  mode: {{ .Values.kubernetes.mode }}
  cri_socket: {{ .Values.kubernetes.criSocket | quote }}
{{- end -}}
