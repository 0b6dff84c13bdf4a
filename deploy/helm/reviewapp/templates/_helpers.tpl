{{/* Names and labels. */}}
{{- define "reviewapp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "reviewapp.fullname" -}}
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

{{- define "reviewapp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "reviewapp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: reviewapp
{{- end }}

{{- define "reviewapp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "reviewapp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: (dict "ctx" $ "component" "web"). */}}
{{- define "reviewapp.componentLabels" -}}
{{ include "reviewapp.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "reviewapp.componentSelectorLabels" -}}
{{ include "reviewapp.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "reviewapp.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "reviewapp.secretName" -}}
{{- .Values.secret.existingSecret | default (include "reviewapp.fullname" .) }}
{{- end }}

{{/* The Service's DNS names, which in-cluster callers send as Host. */}}
{{- define "reviewapp.serviceHosts" -}}
{{- $svc := include "reviewapp.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain) | join "," }}
{{- end }}

{{- define "reviewapp.ingressHosts" -}}
{{- $hosts := list }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}
{{- $hosts = append $hosts .host }}
{{- end }}
{{- end }}
{{- $hosts | join "," }}
{{- end }}

{{/*
The environment every container shares: the settings the chart derives from its values, then
config.env over them, sorted by name. Secrets come separately, through envFrom.
*/}}
{{- define "reviewapp.env" -}}
{{- $allowed := concat .Values.config.allowedHosts (splitList "," (include "reviewapp.serviceHosts" .)) }}
{{- $origins := .Values.config.csrfTrustedOrigins }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}
{{- $allowed = append $allowed .host }}
{{- $origins = append $origins (printf "https://%s" .host) }}
{{- end }}
{{- end }}
{{- $env := dict
  "DEBUG" "0"
  "DEMO_MODE" "0"
  "ALLOWED_HOSTS" ($allowed | uniq | join ",")
  "SECURE_SSL_REDIRECT" (ternary "1" "0" .Values.config.secureSslRedirect)
  "NUM_PROXIES" (ternary (toString .Values.ingress.numProxies) "0" .Values.ingress.enabled)
  "LOG_LEVEL" .Values.config.logLevel
  "LOG_FORMAT" .Values.config.logFormat
  "TIME_ZONE" .Values.config.timeZone
  "DATABASE_CONN_MAX_AGE" (toString .Values.config.databaseConnMaxAge)
  "DATABASE_PREPARED_STATEMENTS" (ternary "1" "0" .Values.config.databasePreparedStatements)
  "CELERY_QUEUE" .Values.celery.queue
  "CELERY_TASK_TIME_LIMIT" (toString .Values.celery.taskTimeLimit)
  "CELERY_TASK_SOFT_TIME_LIMIT" (toString .Values.celery.taskSoftTimeLimit)
  "CELERY_BROKER_VISIBILITY_TIMEOUT" (toString .Values.celery.visibilityTimeout)
  "DATA_DIR" "/data"
  "MODEL_ARTIFACT_DIR" "/data/models"
  "OMP_NUM_THREADS" "1"
}}
{{- if $origins }}
{{- $_ := set $env "CSRF_TRUSTED_ORIGINS" ($origins | uniq | join ",") }}
{{- end }}
{{- if .Values.ingress.enabled }}
{{- /* The Ingress controller terminates TLS and says so in X-Forwarded-Proto. */}}
{{- $_ := set $env "SECURE_PROXY_SSL_HEADER" "HTTP_X_FORWARDED_PROTO,https" }}
{{- end }}
{{- range $name, $value := .Values.config.env }}
{{- $_ := set $env $name (toString $value) }}
{{- end }}
{{- range $name := keys $env | sortAlpha }}
- name: {{ $name }}
  value: {{ get $env $name | quote }}
{{- end }}
{{- end }}

{{- define "reviewapp.envFrom" -}}
- secretRef:
    name: {{ include "reviewapp.secretName" . }}
{{- end }}

{{/* Pod-level settings every workload shares: (dict "ctx" $ "own" .Values.web). */}}
{{- define "reviewapp.podSpecCommon" -}}
{{- $ := .ctx }}
{{- with $.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $.Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: {{ $.Values.podSecurityContext.runAsUser }}
  runAsGroup: {{ $.Values.podSecurityContext.runAsGroup }}
  fsGroup: {{ $.Values.podSecurityContext.fsGroup }}
  seccompProfile:
    type: RuntimeDefault
{{- with (merge (deepCopy (.own.nodeSelector | default dict)) $.Values.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (concat (.own.tolerations | default list) $.Values.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.own.affinity | default $.Values.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Container-level hardening: nothing but the mounted emptyDirs is writable. */}}
{{- define "reviewapp.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
{{- end }}

{{- define "reviewapp.scratchVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.scratchSizeLimit }}
- name: data
  emptyDir:
    sizeLimit: {{ .Values.scratchSizeLimit }}
{{- end }}

{{- define "reviewapp.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /data
{{- end }}

{{/* Roll pods when the chart-made Secret changes. */}}
{{- define "reviewapp.podAnnotations" -}}
{{- if not .Values.secret.existingSecret }}
checksum/secret-values: {{ .Values.secret.values | toJson | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The worker's grace period: longer than the task time limit, so a task can finish. */}}
{{- define "reviewapp.workerGracePeriod" -}}
{{- $limit := int .Values.celery.taskTimeLimit }}
{{- $grace := .Values.worker.terminationGracePeriodSeconds | default (add $limit 30) | int }}
{{- if le $grace $limit }}
{{- fail (printf "worker.terminationGracePeriodSeconds (%d) must be longer than celery.taskTimeLimit (%d), so that a running task ends before the pod is killed" $grace $limit) }}
{{- end }}
{{- $grace }}
{{- end }}
