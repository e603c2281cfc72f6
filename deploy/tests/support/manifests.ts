// Rendering the kustomize overlays and checking what they produce: OpenAPI schema (kubernetes-models 4)
// plus unknown fields, the Pod Security "restricted" profile, kube-score / kube-linter default checks,
// and cross-references between objects. Each checker returns a list of violations (empty = fine), so
// tests can feed it deliberately broken objects and expect a violation.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Namespace, ServiceAccount, Service, ConfigMap, Secret, PersistentVolumeClaim } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';

export const ROOT = resolve(import.meta.dirname, '../../..');

/* eslint-disable @typescript-eslint/no-explicit-any */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: any }; [k: string]: any };

export const OVERLAYS = ['base', 'overlays/local', 'overlays/production'] as const;

/**
 * A scratch copy of deploy/k8s and deploy/nginx with the git-ignored inputs made from the committed
 * examples (secrets.env from secrets.env.example with each `change-me…` value replaced by a random one,
 * as an operator does: the services refuse the published examples; a throwaway TLS pair for the local
 * overlay), so that rendering works on a fresh clone and never touches the working tree.
 */
/** secrets.env.example → secrets.env: every `change-me…` value (alone or as a URL's password) made random. */
export function fillExampleSecrets(example: string): string {
  return example.replace(/change-me[A-Za-z0-9-]*/g, () => randomBytes(32).toString('hex'));
}

export function scratchCopy(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'parley-k8s-'));
  cpSync(join(ROOT, 'deploy/k8s'), join(dir, 'k8s'), { recursive: true });
  cpSync(join(ROOT, 'deploy/nginx'), join(dir, 'nginx'), { recursive: true });
  cpSync(join(ROOT, 'deploy/monitoring'), join(dir, 'monitoring'), { recursive: true });
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f === 'secrets.env.example') writeFileSync(join(d, 'secrets.env'), fillExampleSecrets(readFileSync(p, 'utf8')));
    }
  };
  walk(join(dir, 'k8s'));
  const local = join(dir, 'k8s/overlays/local');
  if (!existsSync(join(local, 'tls.crt'))) {
    const r = spawnSync('openssl', ['req', '-x509', '-nodes', '-newkey', 'rsa:2048', '-subj', '/CN=localhost', '-keyout', join(local, 'tls.key'), '-out', join(local, 'tls.crt'), '-days', '1'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function kustomize(dir: string): { objects: K8sObject[]; yaml: string } {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr || r.error?.message}`);
  const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject).filter(Boolean);
  return { objects, yaml: r.stdout };
}

export const id = (o: K8sObject) => `${o.kind}/${o.metadata?.name}`;

// ---- schema ---------------------------------------------------------------------------------------

type Model = new (data: any) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
};

/** Custom resources we use, checked by hand (no OpenAPI schema here): allowed fields per path. */
const CRD_FIELDS: Record<string, Record<string, string[]>> = {
  'cert-manager.io/v1/Certificate': {
    '': ['apiVersion', 'kind', 'metadata', 'spec'],
    '/spec': ['secretName', 'dnsNames', 'issuerRef', 'privateKey', 'duration', 'renewBefore', 'commonName', 'usages', 'secretTemplate'],
    '/spec/issuerRef': ['name', 'kind', 'group'],
    '/spec/privateKey': ['algorithm', 'size', 'rotationPolicy', 'encoding'],
  },
  // Prometheus Operator (monitoring.coreos.com/v1), the fields the monitoring component uses.
  'monitoring.coreos.com/v1/PodMonitor': {
    '': ['apiVersion', 'kind', 'metadata', 'spec'],
    '/spec': ['selector', 'podMetricsEndpoints', 'namespaceSelector', 'jobLabel', 'podTargetLabels'],
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    '': ['apiVersion', 'kind', 'metadata', 'spec'],
    '/spec': ['groups'],
  },
  'monitoring.coreos.com/v1/Probe': {
    '': ['apiVersion', 'kind', 'metadata', 'spec'],
    '/spec': ['jobName', 'interval', 'scrapeTimeout', 'module', 'prober', 'targets'],
    '/spec/prober': ['url', 'path', 'scheme'],
    '/spec/targets': ['staticConfig', 'ingress'],
    '/spec/targets/staticConfig': ['static', 'labels'],
  },
};

const POD_METRICS_ENDPOINT_FIELDS = ['port', 'path', 'interval', 'scrapeTimeout', 'scheme', 'relabelings', 'metricRelabelings', 'honorLabels'];
const RELABEL_FIELDS = ['sourceLabels', 'separator', 'targetLabel', 'regex', 'modulus', 'replacement', 'action'];
const RULE_FIELDS = ['alert', 'record', 'expr', 'for', 'labels', 'annotations', 'keep_firing_for'];

/** Checks of the Prometheus Operator resources beyond field names: required fields and list items. */
function monitoringCrdViolations(obj: K8sObject): string[] {
  const out: string[] = [];
  const at = id(obj);
  const unknown = (item: Record<string, unknown>, allowed: string[], where: string) => {
    for (const k of Object.keys(item ?? {})) if (!allowed.includes(k)) out.push(`${at}: unknown field ${where}/${k}`);
  };
  if (obj.kind === 'PodMonitor') {
    if (!obj.spec?.selector) out.push(`${at}: spec.selector is required`);
    if (!Array.isArray(obj.spec?.podMetricsEndpoints) || !obj.spec.podMetricsEndpoints.length) out.push(`${at}: spec.podMetricsEndpoints is required`);
    for (const [i, e] of (obj.spec?.podMetricsEndpoints ?? []).entries()) {
      unknown(e, POD_METRICS_ENDPOINT_FIELDS, `/spec/podMetricsEndpoints/${i}`);
      if (typeof e.port !== 'string') out.push(`${at}: podMetricsEndpoints[${i}].port must name a container port`);
      for (const [j, r] of (e.relabelings ?? []).entries()) unknown(r, RELABEL_FIELDS, `/spec/podMetricsEndpoints/${i}/relabelings/${j}`);
    }
  }
  if (obj.kind === 'PrometheusRule') {
    if (!Array.isArray(obj.spec?.groups) || !obj.spec.groups.length) out.push(`${at}: spec.groups is required`);
    for (const g of obj.spec?.groups ?? []) {
      if (typeof g.name !== 'string') out.push(`${at}: a group has no name`);
      for (const r of g.rules ?? []) {
        unknown(r, RULE_FIELDS, `/spec/groups/${g.name}/rules/${r.alert ?? r.record}`);
        if (typeof r.expr !== 'string' || !(r.alert || r.record)) out.push(`${at}: rule without expr or alert/record`);
      }
    }
  }
  if (obj.kind === 'Probe') {
    if (!obj.spec?.prober?.url) out.push(`${at}: spec.prober.url is required`);
    if (!obj.spec?.targets?.staticConfig?.static?.length && !obj.spec?.targets?.ingress) out.push(`${at}: spec.targets is required`);
  }
  return out;
}

/**
 * kustomize wraps long base64 Secret values at 76 columns; the API server's decoder (Go's
 * encoding/json -> base64.StdEncoding) ignores those newlines, the schema's "byte" format does not.
 */
function normalizeSecretData(obj: K8sObject): K8sObject {
  if (obj.kind !== 'Secret' || !obj.data) return obj;
  const copy = structuredClone(obj);
  for (const [k, v] of Object.entries(copy.data as Record<string, unknown>)) if (typeof v === 'string') copy.data[k] = v.replace(/[\r\n]/g, '');
  return copy;
}

function ajvErrors(model: Model, obj: unknown): { instancePath: string; message?: string }[] {
  try {
    new model(obj).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (!errors) throw err;
    return errors;
  }
}

/** Schema violations: wrong types, missing required fields, unknown kinds. */
export function schemaViolations(obj: K8sObject): string[] {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const model = MODELS[key];
  if (model) return ajvErrors(model, normalizeSecretData(obj)).map((e) => `${id(obj)}: ${e.instancePath || '/'} ${e.message}`);
  const crd = CRD_FIELDS[key];
  if (crd) {
    const out: string[] = [];
    if (!obj.metadata?.name) out.push(`${id(obj)}: metadata.name missing`);
    if (key === 'cert-manager.io/v1/Certificate' && (!obj.spec?.secretName || !obj.spec?.issuerRef?.name)) out.push(`${id(obj)}: spec.secretName and spec.issuerRef.name are required`);
    if (key.startsWith('monitoring.coreos.com/')) out.push(...monitoringCrdViolations(obj));
    return out;
  }
  return [`${id(obj)}: unknown apiVersion/kind ${key} (no schema to check it against)`];
}

const escape = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Unknown fields (kubernetes-models accepts them; the API server would drop or reject them). A field
 * is known when the schema has an opinion about it: replacing its value with a Symbol (valid for no
 * JSON type) must produce a schema error at exactly that path.
 */
export function unknownFields(obj: K8sObject): string[] {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const model = MODELS[key];
  const crd = CRD_FIELDS[key];
  const out: string[] = [];
  if (crd) {
    const walk = (v: any, path: string) => {
      const allowed = crd[path];
      if (!allowed || !v || typeof v !== 'object' || Array.isArray(v)) return;
      for (const k of Object.keys(v)) {
        if (!allowed.includes(k)) out.push(`${id(obj)}: unknown field ${path}/${k}`);
        else walk(v[k], `${path}/${k}`);
      }
    };
    walk(obj, '');
    return out;
  }
  if (!model) return [];
  const probe = (path: (string | number)[]) => {
    const copy = structuredClone(normalizeSecretData(obj)) as any;
    let parent = copy;
    for (const p of path.slice(0, -1)) parent = parent[p];
    parent[path[path.length - 1]!] = Symbol('probe');
    const pointer = `/${path.map((p) => escape(String(p))).join('/')}`;
    return ajvErrors(model, copy).some((e) => e.instancePath === pointer);
  };
  const walk = (v: any, path: (string | number)[]) => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, [...path, i]));
      return;
    }
    if (!v || typeof v !== 'object') return;
    for (const k of Object.keys(v)) {
      const p = [...path, k];
      if (!probe(p)) {
        out.push(`${id(obj)}: unknown field /${p.join('/')}`);
        continue;
      }
      walk(v[k], p);
    }
  };
  walk(obj, []);
  return out;
}

// ---- pods -----------------------------------------------------------------------------------------

export interface PodOwner { obj: K8sObject; template: any; spec: any }

export function podOwners(objects: K8sObject[]): PodOwner[] {
  return objects.flatMap((o) => {
    if (o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'Job') return [{ obj: o, template: o.spec?.template, spec: o.spec?.template?.spec }];
    return [];
  });
}

const ALLOWED_VOLUME_TYPES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/** Pod Security Standards, restricted profile (the checks that apply to pod templates). */
export function restrictedViolations(owner: PodOwner): string[] {
  const out: string[] = [];
  const at = id(owner.obj);
  const spec = owner.spec ?? {};
  const podSc = spec.securityContext ?? {};
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) out.push(`${at}: host namespaces`);
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !ALLOWED_VOLUME_TYPES.includes(type)) out.push(`${at}: volume ${v.name} of type ${type} not allowed`);
  }
  const podSeccomp = podSc.seccompProfile?.type;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    const where = `${at} container ${c.name}`;
    if (sc.privileged) out.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation must be false`);
    const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    if (nonRoot !== true) out.push(`${where}: runAsNonRoot must be true`);
    const uid = sc.runAsUser ?? podSc.runAsUser;
    if (uid === 0) out.push(`${where}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${where}: seccompProfile must be RuntimeDefault or Localhost`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) out.push(`${where}: capabilities.drop must include ALL`);
    const add: string[] = sc.capabilities?.add ?? [];
    if (add.some((a) => a !== 'NET_BIND_SERVICE')) out.push(`${where}: only NET_BIND_SERVICE may be added`);
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${where}: hostPort`);
  }
  return out;
}

/** kube-score and kube-linter default checks for one workload (options relax the ones that cannot apply). */
export function scoreViolations(owner: PodOwner, objects: K8sObject[], opts: { replicated: boolean }): string[] {
  const out: string[] = [];
  const at = id(owner.obj);
  const spec = owner.spec ?? {};
  const podSc = spec.securityContext ?? {};
  const labels: Record<string, string> = owner.template?.metadata?.labels ?? {};
  for (const c of spec.containers ?? []) {
    const where = `${at} container ${c.name}`;
    const sc = c.securityContext ?? {};
    for (const kind of ['requests', 'limits'] as const) {
      for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
        if (!c.resources?.[kind]?.[r]) out.push(`${where}: resources.${kind}.${r} missing`);
      }
    }
    const image = String(c.image ?? '');
    const tag = /^[^@]+:([^/:@]+)$/.exec(image)?.[1];
    if (!image.includes('@sha256:') && (!tag || tag === 'latest')) out.push(`${where}: image ${image} has no pinned tag`);
    if (c.imagePullPolicy === 'Always' && !tag) out.push(`${where}: imagePullPolicy`);
    if (sc.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem must be true`);
    const uid = sc.runAsUser ?? podSc.runAsUser;
    const gid = sc.runAsGroup ?? podSc.runAsGroup;
    if (!(uid > 10000)) out.push(`${where}: runAsUser must be > 10000`);
    if (!(gid > 10000)) out.push(`${where}: runAsGroup must be > 10000`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL') && !drop.includes('NET_RAW')) out.push(`${where}: NET_RAW not dropped`);
    for (const e of c.env ?? []) {
      if (typeof e.value === 'string' && /SECRET|TOKEN|PASSWORD|PASSWD|API_KEY/i.test(e.name) && e.value !== '') out.push(`${where}: secret-looking env ${e.name} has a plain value`);
    }
    if (owner.obj.kind !== 'Job') {
      if (!c.readinessProbe) out.push(`${where}: readinessProbe missing`);
      if (!c.livenessProbe) out.push(`${where}: livenessProbe missing`);
      if (c.readinessProbe && c.livenessProbe && JSON.stringify(c.readinessProbe) === JSON.stringify(c.livenessProbe)) out.push(`${where}: readiness and liveness probes are identical`);
    }
  }
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) out.push(`${at}: host network/PID/IPC`);
  if (spec.automountServiceAccountToken !== false) out.push(`${at}: automountServiceAccountToken must be false`);
  // A NetworkPolicy selects the pod (ingress and egress).
  const pols = objects.filter((o) => o.kind === 'NetworkPolicy' && selects(o.spec?.podSelector, labels));
  const types = new Set(pols.flatMap((p) => p.spec?.policyTypes ?? ['Ingress']));
  if (!types.has('Ingress') || !types.has('Egress')) out.push(`${at}: no NetworkPolicy covers both ingress and egress`);
  if (owner.obj.kind === 'StatefulSet' && !owner.obj.spec?.serviceName) out.push(`${at}: StatefulSet without serviceName`);
  if (opts.replicated) {
    const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec?.scaleTargetRef?.name === owner.obj.metadata.name);
    const replicas = hpa ? hpa.spec.minReplicas : owner.obj.spec?.replicas;
    if (!(replicas >= 2)) out.push(`${at}: fewer than 2 replicas`);
    if (!objects.some((o) => o.kind === 'PodDisruptionBudget' && selects(o.spec?.selector, labels))) out.push(`${at}: no PodDisruptionBudget`);
    const spread = (spec.topologySpreadConstraints ?? []).some((t: any) => t.topologyKey === 'kubernetes.io/hostname' && selects(t.labelSelector, labels));
    const anti = (spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).length > 0 || (spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).length > 0;
    if (!spread && !anti) out.push(`${at}: no host anti-affinity or topology spread`);
    if (owner.obj.kind === 'Deployment') {
      const ru = owner.obj.spec?.strategy;
      if (ru?.type !== 'RollingUpdate' || ru?.rollingUpdate?.maxUnavailable !== 0) out.push(`${at}: RollingUpdate with maxUnavailable 0 required`);
    }
  }
  return out;
}

export function selects(selector: any, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Services: no NodePort. */
export function serviceViolations(objects: K8sObject[]): string[] {
  return objects.filter((o) => o.kind === 'Service' && o.spec?.type === 'NodePort').map((o) => `${id(o)}: NodePort`);
}

// ---- cross-references -------------------------------------------------------------------------------

/** Objects created by others in the same render that yield a Secret (cert-manager Certificate). */
function secretNames(objects: K8sObject[]): Set<string> {
  const names = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name));
  for (const o of objects) if (o.kind === 'Certificate' && o.spec?.secretName) names.add(o.spec.secretName);
  return names;
}

/**
 * `externalSecrets`: Secrets a layer expects from elsewhere (the base leaves parley-tls to the overlay:
 * a generated one locally, cert-manager in production).
 */
export function crossRefViolations(objects: K8sObject[], opts: { externalSecrets?: string[] } = {}): string[] {
  const out: string[] = [];
  const owners = podOwners(objects);
  const secrets = new Map(objects.filter((o) => o.kind === 'Secret').map((o) => [o.metadata.name, o]));
  const generatedSecrets = secretNames(objects);
  for (const name of opts.externalSecrets ?? []) generatedSecrets.add(name);
  const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o]));
  const serviceAccounts = new Set(objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name));
  const keyExists = (kind: 'Secret' | 'ConfigMap', name: string, key: string, where: string) => {
    if (kind === 'ConfigMap') {
      const cm = configMaps.get(name);
      if (!cm) out.push(`${where}: ConfigMap ${name} does not exist`);
      else if (!(key in (cm.data ?? {})) && !(key in (cm.binaryData ?? {}))) out.push(`${where}: ConfigMap ${name} has no key ${key}`);
      return;
    }
    const s = secrets.get(name);
    if (!s) {
      if (!generatedSecrets.has(name)) out.push(`${where}: Secret ${name} does not exist`);
      return;
    }
    if (!(key in (s.data ?? {})) && !(key in (s.stringData ?? {}))) out.push(`${where}: Secret ${name} has no key ${key}`);
  };

  for (const owner of owners) {
    const at = id(owner.obj);
    const spec = owner.spec ?? {};
    const sa = spec.serviceAccountName;
    if (!sa) out.push(`${at}: no serviceAccountName`);
    else if (!serviceAccounts.has(sa)) out.push(`${at}: ServiceAccount ${sa} does not exist`);
    const labels: Record<string, string> = owner.template?.metadata?.labels ?? {};
    if (owner.obj.kind !== 'Job' && !selects(owner.obj.spec?.selector, labels)) out.push(`${at}: selector does not match its pod labels`);
    const volumes = new Map<string, any>((spec.volumes ?? []).map((v: any) => [v.name, v]));
    for (const v of spec.volumes ?? []) {
      if (v.configMap) {
        if (!configMaps.has(v.configMap.name)) out.push(`${at} volume ${v.name}: ConfigMap ${v.configMap.name} does not exist`);
        for (const item of v.configMap.items ?? []) keyExists('ConfigMap', v.configMap.name, item.key, `${at} volume ${v.name}`);
      }
      if (v.secret) {
        if (!generatedSecrets.has(v.secret.secretName)) out.push(`${at} volume ${v.name}: Secret ${v.secret.secretName} does not exist`);
        else if (secrets.has(v.secret.secretName)) for (const item of v.secret.items ?? []) keyExists('Secret', v.secret.secretName, item.key, `${at} volume ${v.name}`);
      }
    }
    const claimTemplates = new Set((owner.obj.spec?.volumeClaimTemplates ?? []).map((t: any) => t.metadata?.name));
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      const where = `${at} container ${c.name}`;
      for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name) && !claimTemplates.has(m.name)) out.push(`${where}: volumeMount ${m.name} has no volume`);
      for (const e of c.env ?? []) {
        const cmk = e.valueFrom?.configMapKeyRef;
        const sk = e.valueFrom?.secretKeyRef;
        if (cmk && !cmk.optional) keyExists('ConfigMap', cmk.name, cmk.key, `${where} env ${e.name}`);
        if (sk && !sk.optional) keyExists('Secret', sk.name, sk.key, `${where} env ${e.name}`);
      }
      for (const ef of c.envFrom ?? []) {
        if (ef.configMapRef && !configMaps.has(ef.configMapRef.name)) out.push(`${where}: envFrom ConfigMap ${ef.configMapRef.name} does not exist`);
        if (ef.secretRef && !generatedSecrets.has(ef.secretRef.name)) out.push(`${where}: envFrom Secret ${ef.secretRef.name} does not exist`);
      }
      const portNames = new Set((c.ports ?? []).map((p: any) => p.name));
      const portNumbers = new Set((c.ports ?? []).map((p: any) => p.containerPort));
      for (const probeName of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const probe = c[probeName];
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
        if (port === undefined) continue;
        if (typeof port === 'string' ? !portNames.has(port) : !portNumbers.has(port)) out.push(`${where}: ${probeName} port ${port} is not declared`);
      }
    }
  }

  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const at = id(svc);
    const sel = svc.spec?.selector;
    if (!sel) {
      out.push(`${at}: no selector`);
      continue;
    }
    const backends = owners.filter((o) => o.obj.kind !== 'Job' && Object.entries(sel).every(([k, v]) => o.template?.metadata?.labels?.[k] === v));
    if (!backends.length) {
      out.push(`${at}: selector ${JSON.stringify(sel)} matches no pods (dangling Service)`);
      continue;
    }
    for (const p of svc.spec?.ports ?? []) {
      const target = p.targetPort ?? p.port;
      for (const b of backends) {
        const ports = (b.spec?.containers ?? []).flatMap((c: any) => c.ports ?? []);
        const ok = typeof target === 'string' ? ports.some((cp: any) => cp.name === target) : ports.some((cp: any) => cp.containerPort === target);
        if (!ok) out.push(`${at}: targetPort ${target} does not exist on ${id(b.obj)}`);
      }
    }
  }
  out.push(...monitoringRefViolations(objects));
  for (const o of objects) {
    if (o.kind === 'StatefulSet' && o.spec?.serviceName && !objects.some((s) => s.kind === 'Service' && s.metadata.name === o.spec.serviceName && s.spec?.clusterIP === 'None')) {
      out.push(`${id(o)}: serviceName ${o.spec.serviceName} is not a headless Service`);
    }
    if ((o.kind === 'PodDisruptionBudget') && !owners.some((w) => selects(o.spec?.selector, w.template?.metadata?.labels ?? {}))) out.push(`${id(o)}: selects no pods`);
    if (o.kind === 'HorizontalPodAutoscaler') {
      const t = o.spec?.scaleTargetRef;
      if (!objects.some((x) => x.kind === t?.kind && x.metadata.name === t?.name)) out.push(`${id(o)}: scale target ${t?.kind}/${t?.name} does not exist`);
    }
    if (o.kind === 'NetworkPolicy' && o.spec?.podSelector && Object.keys(o.spec.podSelector).length && !owners.some((w) => selects(o.spec.podSelector, w.template?.metadata?.labels ?? {}))) {
      out.push(`${id(o)}: selects no pods`);
    }
  }
  return out;
}

/** Prometheus Operator objects point at real things: PodMonitors at pods and named ports, Probes at Services. */
export function monitoringRefViolations(objects: K8sObject[]): string[] {
  const out: string[] = [];
  const owners = podOwners(objects).filter((o) => o.obj.kind !== 'Job');
  const servicePort = (host: string, port: number, where: string) => {
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === host.split('.')[0]);
    if (!svc) out.push(`${where}: Service ${host} does not exist`);
    else if (!(svc.spec?.ports ?? []).some((p: any) => p.port === port)) out.push(`${where}: Service ${host} has no port ${port}`);
  };
  for (const pm of objects.filter((o) => o.kind === 'PodMonitor')) {
    const pods = owners.filter((w) => selects(pm.spec?.selector, w.template?.metadata?.labels ?? {}));
    if (!pods.length) out.push(`${id(pm)}: selects no pods`);
    for (const e of pm.spec?.podMetricsEndpoints ?? []) {
      for (const w of pods) {
        const named = (w.spec?.containers ?? []).some((c: any) => (c.ports ?? []).some((p: any) => p.name === e.port));
        if (!named) out.push(`${id(pm)}: ${id(w.obj)} has no container port named ${e.port}`);
      }
    }
  }
  for (const probe of objects.filter((o) => o.kind === 'Probe')) {
    const [host, port] = String(probe.spec?.prober?.url ?? '').split(':');
    servicePort(host ?? '', Number(port ?? 80), `${id(probe)} prober`);
    for (const target of probe.spec?.targets?.staticConfig?.static ?? []) {
      const u = new URL(target);
      if (!u.hostname.includes('.') || u.hostname.endsWith('.svc') || u.hostname.includes('.svc.')) servicePort(u.hostname, Number(u.port || (u.protocol === 'https:' ? 443 : 80)), `${id(probe)} target ${target}`);
    }
  }
  return out;
}

/** Every violation for a rendered overlay; app workloads (admin, chat, edge) must also be replicated. */
export function allViolations(objects: K8sObject[], appNames = ['admin', 'chat', 'edge'], opts: { externalSecrets?: string[] } = {}): string[] {
  const out: string[] = [];
  for (const o of objects) out.push(...schemaViolations(o), ...unknownFields(o));
  for (const owner of podOwners(objects)) {
    out.push(...restrictedViolations(owner));
    out.push(...scoreViolations(owner, objects, { replicated: owner.obj.kind === 'Deployment' && appNames.includes(owner.obj.metadata.name) }));
  }
  out.push(...serviceViolations(objects), ...crossRefViolations(objects, opts));
  return out;
}

/** Resolve a container's environment like the kubelet: ConfigMap/Secret refs, fieldRefs, $(VAR) expansion. */
export function resolveEnv(container: any, objects: K8sObject[], fields: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  for (const e of container.env ?? []) {
    let v: string | undefined;
    if (e.value !== undefined) v = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => (n in env ? env[n]! : m));
    else if (e.valueFrom?.configMapKeyRef) v = find('ConfigMap', e.valueFrom.configMapKeyRef.name)?.data?.[e.valueFrom.configMapKeyRef.key];
    else if (e.valueFrom?.secretKeyRef) {
      const raw = find('Secret', e.valueFrom.secretKeyRef.name)?.data?.[e.valueFrom.secretKeyRef.key];
      v = raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
    } else if (e.valueFrom?.fieldRef) v = fields[e.valueFrom.fieldRef.fieldPath];
    if (v === undefined) throw new Error(`env ${e.name} of ${container.name} cannot be resolved`);
    env[e.name] = v;
  }
  return env;
}

// ---- network flows -----------------------------------------------------------------------------------

export interface Flow { from: string; to: string; port: number; protocol?: string }
export const EXTERNAL = 'external';
export const DNS = 'kube-dns';
/** A Prometheus pod in a namespace labelled parley.dev/monitoring: "true" (the monitoring component's convention). */
export const MONITORING = 'monitoring';

function portMatches(ports: any[] | undefined, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => (p.protocol ?? 'TCP') === protocol && (p.port === undefined || p.port === port || (p.endPort !== undefined && port >= p.port && port <= p.endPort)));
}

/**
 * Is traffic from `from` to `to` on `port` allowed by the NetworkPolicies? Pods are named by their
 * app.kubernetes.io/name label; EXTERNAL is anything outside the cluster (matched by ipBlock peers or by
 * rules without peers); DNS is kube-dns in kube-system. Both the source's egress and the destination's
 * ingress must allow it (a pod no policy of that type selects is not isolated in that direction).
 */
export function flowAllowed(objects: K8sObject[], from: string, to: string, port: number, protocol = 'TCP'): boolean {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const labelsOf = (name: string): Record<string, string> | null => (name === EXTERNAL || name === DNS || name === MONITORING ? null : { 'app.kubernetes.io/name': name });
  const peerMatches = (peer: any, target: string): boolean => {
    if (target === EXTERNAL) return Boolean(peer.ipBlock);
    if (peer.ipBlock) return false; // pod IPs are not meant to be reached through ipBlocks here
    if (target === MONITORING) return Boolean(peer.namespaceSelector && selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': 'monitoring', 'parley.dev/monitoring': 'true' }) && selects(peer.podSelector ?? {}, { 'app.kubernetes.io/name': 'prometheus' }));
    if (target === DNS) return Boolean(peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'kube-system' && selects(peer.podSelector ?? {}, { 'k8s-app': 'kube-dns' }));
    if (peer.namespaceSelector) return selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': 'parley' }) && selects(peer.podSelector ?? {}, labelsOf(target)!);
    return selects(peer.podSelector ?? {}, labelsOf(target)!);
  };
  const side = (pod: string, type: 'Ingress' | 'Egress', other: string): boolean => {
    const labels = labelsOf(pod);
    if (!labels) return true; // outside our namespace: not governed by these policies
    const selecting = policies.filter((p) => selects(p.spec?.podSelector ?? {}, labels) && (p.spec?.policyTypes ?? ['Ingress']).includes(type));
    if (!selecting.length) return true;
    const rulesKey = type === 'Ingress' ? 'ingress' : 'egress';
    const peersKey = type === 'Ingress' ? 'from' : 'to';
    return selecting.some((p) => (p.spec?.[rulesKey] ?? []).some((rule: any) => {
      const peers = rule[peersKey];
      const peerOk = !peers || peers.length === 0 || peers.some((peer: any) => peerMatches(peer, other));
      return peerOk && portMatches(rule.ports, port, protocol);
    }));
  };
  return side(from, 'Egress', to) && side(to, 'Ingress', from);
}

/** Every allowed flow among the given parties and ports (for comparison with the intended matrix). */
export function allowedFlows(objects: K8sObject[], parties: string[], ports: number[]): string[] {
  const out: string[] = [];
  for (const from of parties) for (const to of parties) {
    if (from === to) continue;
    for (const port of ports) if (flowAllowed(objects, from, to, port)) out.push(`${from} -> ${to}:${port}`);
  }
  return out.sort();
}
