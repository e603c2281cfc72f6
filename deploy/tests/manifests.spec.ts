// Every kustomize overlay renders with `kubectl kustomize`, and what it renders passes the schema,
// unknown-field, restricted-PSS, kube-score/kube-linter and cross-reference checks, plus Parley's own
// deployment rules (drain timing, probes, Services, overlays).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  allViolations, crossRefViolations, kustomize, OVERLAYS, podOwners, restrictedViolations, ROOT, schemaViolations, scoreViolations,
  scratchCopy, serviceViolations, unknownFields, type K8sObject,
} from './support/manifests.ts';
import { adminConfigSchema } from '../../apps/admin/src/config.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
let scratch: ReturnType<typeof scratchCopy>;
const rendered: Record<string, K8sObject[]> = {};

beforeAll(() => {
  scratch = scratchCopy();
  for (const overlay of OVERLAYS) rendered[overlay] = kustomize(join(scratch.dir, 'k8s', overlay)).objects;
});
afterAll(() => scratch?.cleanup());

const find = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o;
};
const container = (objs: K8sObject[], kind: string, name: string) => find(objs, kind, name).spec.template.spec.containers[0];
const envOf = (c: any, name: string) => c.env.find((e: any) => e.name === name);
const objs = (all: K8sObject[], kind: string) => all.filter((o) => o.kind === kind);

describe.each(OVERLAYS)('kustomize %s', (overlay) => {
  const objs = () => rendered[overlay]!;

  it('renders, everything in namespace parley', () => {
    expect(objs().length).toBeGreaterThan(20);
    for (const o of objs()) if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('parley');
  });

  it('validates against the Kubernetes OpenAPI schema with no unknown fields', () => {
    expect(objs().flatMap((o) => [...schemaViolations(o), ...unknownFields(o)])).toEqual([]);
  });

  it('meets the restricted Pod Security profile for every pod', () => {
    expect(podOwners(objs()).flatMap(restrictedViolations)).toEqual([]);
  });

  it('passes the kube-score / kube-linter default checks (replication rules for admin, chat, edge)', () => {
    const local = overlay === 'overlays/local';
    const out = podOwners(objs()).flatMap((w) => scoreViolations(w, objs(), { replicated: !local && w.obj.kind === 'Deployment' }));
    expect([...out, ...serviceViolations(objs())]).toEqual([]);
  });

  it('has consistent cross-references (selectors, ports, Secrets, ConfigMaps, keys, ServiceAccounts)', () => {
    expect(crossRefViolations(objs(), { externalSecrets: overlay === 'base' ? ['parley-tls'] : [] })).toEqual([]);
  });

  it('runs admin and chat behind ClusterIP Services on 8080 and the edge behind a LoadBalancer', () => {
    for (const name of ['admin', 'chat']) {
      const svc = find(objs(), 'Service', name);
      expect(svc.spec.type).toBe('ClusterIP');
      expect(svc.spec.ports.map((p: any) => p.port)).toEqual([8080]);
    }
    expect(find(objs(), 'Service', 'edge').spec.type).toBe('LoadBalancer');
    expect(find(objs(), 'Service', 'edge').spec.ports.map((p: any) => p.port).sort()).toEqual([443, 80]);
  });

  it('sizes chat\'s grace period for preStop + DRAIN_DELAY_MS + SHUTDOWN_TIMEOUT_MS, and names replicas after pods', () => {
    const dep = find(objs(), 'Deployment', 'chat');
    const c = dep.spec.template.spec.containers[0];
    const cm = objs().find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('parley-config'))!;
    const ms = (name: string, fallback: number) => {
      const e = envOf(c, name);
      if (!e) return fallback;
      return Number(e.value ?? cm.data[e.valueFrom.configMapKeyRef.key]);
    };
    const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(preStop).toBeGreaterThanOrEqual(3);
    const needed = preStop + (ms('DRAIN_DELAY_MS', 5000) + ms('SHUTDOWN_TIMEOUT_MS', 10_000)) / 1000;
    expect(dep.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(needed + 5);
    expect(envOf(c, 'REPLICA_ID').valueFrom.fieldRef.fieldPath).toBe('metadata.name');
  });

  it('probes readiness on /readyz and liveness on /healthz for the apps', () => {
    for (const name of ['admin', 'chat']) {
      const c = container(objs(), 'Deployment', name);
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    }
  });

  it('mounts the edge template from deploy/nginx/parley.conf.template unchanged', () => {
    const cm = objs().find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('edge-nginx-template'))!;
    expect(cm.data['parley.conf.template']).toBe(readFileSync(join(ROOT, 'deploy/nginx/parley.conf.template'), 'utf8'));
  });

  it('has autoscalers for admin and chat', () => {
    for (const name of ['admin', 'chat']) expect(find(objs(), 'HorizontalPodAutoscaler', name).spec.scaleTargetRef.name).toBe(name);
  });
});

describe('overlay specifics', () => {
  it('base: Postgres and Redis StatefulSets with PVCs, real probes, PGDATA in a subdirectory', () => {
    const objs = rendered.base!;
    const pg = find(objs, 'StatefulSet', 'postgres');
    const pgc = pg.spec.template.spec.containers[0];
    expect(pg.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    const mount = pgc.volumeMounts.find((m: any) => m.name === 'data').mountPath;
    expect(envOf(pgc, 'PGDATA').value.startsWith(`${mount}/`)).toBe(true);
    expect(JSON.stringify(pgc.readinessProbe.exec.command)).toContain('pg_isready');
    expect(JSON.stringify(pgc.livenessProbe.exec.command)).toContain('pg_isready');
    const redis = find(objs, 'StatefulSet', 'redis');
    const rc = redis.spec.template.spec.containers[0];
    expect(rc.readinessProbe.exec.command).toEqual(['redis-cli', 'ping']);
    // Sessions survive a Redis restart: append-only file, fsync every second, in the PVC-backed /data.
    const arg = (name: string) => rc.args[rc.args.indexOf(name) + 1];
    expect(arg('--appendonly')).toBe('yes');
    expect(arg('--appendfsync')).toBe('everysec');
    expect(rc.volumeMounts.find((m: any) => m.mountPath === arg('--dir')).name).toBe('data');
    expect(redis.spec.volumeClaimTemplates.map((t: any) => t.metadata.name)).toContain('data');
    expect(redis.spec.template.spec.volumes.some((v: any) => v.name === 'data')).toBe(false); // the claim, not an emptyDir
    expect(find(objs, 'Service', 'postgres-headless').spec.clusterIP).toBe('None');
    expect(find(objs, 'Service', 'redis-headless').spec.clusterIP).toBe('None');
    expect(find(objs, 'Job', 'parley-migrate').spec.template.spec.containers[0].command).toEqual(['node', 'packages/db/dist/migrate.js']);
  });

  it('local: one replica of each app, HPA floor 1', () => {
    const objs = rendered['overlays/local']!;
    for (const name of ['admin', 'chat', 'edge']) expect(find(objs, 'Deployment', name).spec.replicas).toBe(1);
    expect(find(objs, 'HorizontalPodAutoscaler', 'chat').spec.minReplicas).toBe(1);
    expect(objs.some((o) => o.kind === 'Secret' && o.type === 'kubernetes.io/tls')).toBe(true);
  });

  it('production: pinned registry images, managed data services, cert-manager certificate', () => {
    const objs = rendered['overlays/production']!;
    for (const name of ['admin', 'chat']) expect(container(objs, 'Deployment', name).image).toMatch(/^registry\.example\.com\/parley\/\w+:\d+\.\d+\.\d+$/);
    expect(objs.some((o) => o.kind === 'StatefulSet')).toBe(false);
    expect(objs.some((o) => o.kind === 'Service' && /postgres|redis/.test(o.metadata.name))).toBe(false);
    for (const [kind, name] of [['Deployment', 'admin'], ['Deployment', 'chat'], ['Job', 'parley-migrate']] as const) {
      const c = container(objs, kind, name);
      expect(envOf(c, 'DATABASE_URL').valueFrom.secretKeyRef.name).toBe('parley-managed-data');
      expect(envOf(c, 'POSTGRES_PASSWORD')).toBeUndefined();
    }
    expect(find(objs, 'Certificate', 'parley-tls').spec.secretName).toBe('parley-tls');
  });

  it('attachments: durable in every overlay (local: a PVC; production: the S3 bucket), settings admin accepts', () => {
    const configOf = (objs: K8sObject[]) => objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('parley-config'))!.data as Record<string, string>;
    const local = rendered['overlays/local']!;
    const localAdmin = find(local, 'Deployment', 'admin').spec.template.spec;
    const volume = localAdmin.volumes.find((v: any) => v.name === 'attachments');
    expect(volume).toEqual({ name: 'attachments', persistentVolumeClaim: { claimName: 'admin-attachments' } });
    expect(find(local, 'PersistentVolumeClaim', 'admin-attachments').spec.accessModes).toEqual(['ReadWriteOnce']);
    const mount = localAdmin.containers[0].volumeMounts.find((m: any) => m.name === 'attachments').mountPath;
    expect(configOf(local)).toMatchObject({ STORAGE_BACKEND: 'fs', STORAGE_DIR: mount });

    const prod = rendered['overlays/production']!;
    const cfg = configOf(prod);
    expect(cfg).toMatchObject({ STORAGE_BACKEND: 's3', S3_BUCKET: expect.any(String), S3_PRESIGNED_UPLOADS: 'true' });
    const c = container(prod, 'Deployment', 'admin');
    for (const key of ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) expect(envOf(c, key).valueFrom.secretKeyRef).toEqual({ name: 'parley-s3', key });
    // What admin would be started with (config values; secrets as the example's shape) parses.
    const env: Record<string, string> = { DATABASE_URL: 'postgres://u:p@db/parley', INTERNAL_TOKEN: 'i'.repeat(40), CHAT_TOKEN_SECRET: 'c'.repeat(40), SESSION_SECRET: 's'.repeat(40) };
    for (const e of c.env) {
      const ref = e.valueFrom?.configMapKeyRef;
      if (ref && e.name.match(/^(S3_(?!ACCESS|SECRET)|STORAGE_|ATTACHMENT_)/)) env[e.name] = cfg[ref.key]!;
    }
    env.S3_ACCESS_KEY_ID = 'AKIAEXAMPLE';
    env.S3_SECRET_ACCESS_KEY = 'x'.repeat(40);
    const parsed = adminConfigSchema.parse(env);
    expect(parsed).toMatchObject({ STORAGE_BACKEND: 's3', S3_BUCKET: cfg.S3_BUCKET });
    // The edge's upload limit covers admin's file limit (plus multipart framing).
    const edge = readFileSync(join(ROOT, 'deploy/nginx/parley.conf.template'), 'utf8');
    const uploadLimit = /location ~ \^\/api\/rooms\/\[0-9\]\+\/attachments\$ \{[^}]*client_max_body_size (\d+)m;/.exec(edge);
    expect(Number(uploadLimit?.[1]) * 1024 * 1024).toBeGreaterThan(Number(configOf(rendered.base!).ATTACHMENT_MAX_BYTES));
    expect(objs(prod, 'NetworkPolicy').some((o) => o.metadata.name === 'admin-object-store')).toBe(true);
  });

  it('base has no violations at all with the full rule set', () => {
    expect(allViolations(rendered.base!, ['admin', 'chat', 'edge'], { externalSecrets: ['parley-tls'] })).toEqual([]);
  });
});
