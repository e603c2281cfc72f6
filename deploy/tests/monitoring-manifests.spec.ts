// The kustomize component `monitoring` on top of the base and the production overlay: everything it adds
// passes the schema/unknown-field, restricted-PSS, kube-score and cross-reference checks; PodMonitors
// find every app pod and its metrics port; the rules and dashboard are exactly deploy/monitoring's;
// the NetworkPolicies let Prometheus scrape and nothing more; the edge gets its exporter sidecar and
// stub_status stays loopback-only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  allowedFlows, allViolations, DNS, EXTERNAL, flowAllowed, kustomize, monitoringRefViolations, MONITORING, ROOT, schemaViolations, scratchCopy,
  selects, type K8sObject,
} from './support/manifests.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
let scratch: ReturnType<typeof scratchCopy>;
const rendered: Record<string, K8sObject[]> = {};
const plain: Record<string, K8sObject[]> = {};
const LAYERS = { base: 'base', production: 'overlays/production' } as const;

beforeAll(() => {
  scratch = scratchCopy();
  for (const [name, layer] of Object.entries(LAYERS)) {
    const dir = join(scratch.dir, 'k8s/overlays', `monitored-${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: parley\nresources:\n  - ../../${layer}\ncomponents:\n  - ../../components/monitoring\n`);
    rendered[name] = kustomize(dir).objects;
    plain[name] = kustomize(join(scratch.dir, 'k8s', layer)).objects;
  }
});
afterAll(() => scratch?.cleanup());

const find = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o;
};

describe.each(Object.keys(LAYERS))('monitoring component on %s', (layer) => {
  const objs = () => rendered[layer]!;

  it('adds PodMonitors, a Probe, the PrometheusRule, the dashboard ConfigMap, the blackbox exporter and scrape policies, all in namespace parley', () => {
    const added = objs().filter((o) => !plain[layer]!.some((p) => p.kind === o.kind && p.metadata.name === o.metadata.name)).map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(added).toEqual([
      'ConfigMap/parley-blackbox-config', 'ConfigMap/parley-grafana-dashboards', 'Deployment/parley-blackbox',
      'NetworkPolicy/allow-edge-exporter-scrape', 'NetworkPolicy/allow-metrics-scrape', 'NetworkPolicy/parley-blackbox',
      'PodMonitor/parley-admin', 'PodMonitor/parley-chat', 'PodMonitor/parley-edge', 'Probe/parley-edge-tls', 'PrometheusRule/parley',
      'Service/parley-blackbox', 'ServiceAccount/parley-blackbox',
    ]);
    for (const o of objs()) if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('parley');
  });

  it('has no violations at all: schema, unknown fields, restricted PSS, kube-score/kube-linter, cross-references', () => {
    expect(allViolations(objs(), ['admin', 'chat', 'edge'], { externalSecrets: layer === 'base' ? ['parley-tls'] : [] })).toEqual([]);
  });

  it('scrapes every app pod as its own target with the job names the rules use', () => {
    const jobs: Record<string, string> = {};
    for (const pm of objs().filter((o) => o.kind === 'PodMonitor')) {
      const e = pm.spec.podMetricsEndpoints[0];
      jobs[pm.spec.selector.matchLabels['app.kubernetes.io/name']] = e.relabelings.find((r: any) => r.targetLabel === 'job').replacement;
      expect(e.relabelings.find((r: any) => r.targetLabel === 'instance').sourceLabels).toEqual(['__meta_kubernetes_pod_name']);
    }
    expect(jobs).toEqual({ admin: 'admin', chat: 'chat', edge: 'parley-edge' });
    const rules = readFileSync(join(ROOT, 'deploy/monitoring/rules.yml'), 'utf8');
    for (const job of ['admin', 'chat', 'parley-edge-tls']) expect(rules).toContain(job);
    expect(find(objs(), 'Probe', 'parley-edge-tls').spec.jobName).toBe('parley-edge-tls');
  });

  it('ships the rules and the dashboard unchanged, the dashboard labelled for the Grafana sidecar', () => {
    const rule = find(objs(), 'PrometheusRule', 'parley');
    expect(rule.spec).toEqual(parse(readFileSync(join(ROOT, 'deploy/monitoring/rules.yml'), 'utf8')));
    const cm = find(objs(), 'ConfigMap', 'parley-grafana-dashboards');
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect(cm.data['parley-overview.json']).toBe(readFileSync(join(ROOT, 'deploy/monitoring/dashboards/parley-overview.json'), 'utf8'));
    expect(JSON.parse(cm.data['parley-overview.json']).uid).toBe('parley-overview');
  });

  it('gives the edge an NGINX exporter sidecar reading loopback-only stub_status', () => {
    const edge = find(objs(), 'Deployment', 'edge');
    const exporter = edge.spec.template.spec.containers.find((c: any) => c.name === 'nginx-exporter');
    expect(edge.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['nginx', 'nginx-exporter']);
    expect(exporter.args).toContain('--nginx.scrape-uri=http://127.0.0.1:8080/edge-stub-status');
    const template = readFileSync(join(ROOT, 'deploy/nginx/parley.conf.template'), 'utf8');
    expect(template).toMatch(/location = \/edge-stub-status \{[^}]*allow 127\.0\.0\.1;\s*deny all;\s*stub_status;/);
  });

  it('lets Prometheus scrape exactly the metrics ports, and the blackbox exporter reach only the edge', () => {
    const parties = [EXTERNAL, MONITORING, 'edge', 'admin', 'chat', 'parley-blackbox', ...(layer === 'base' ? ['postgres', 'redis'] : [])];
    const ports = [8080, 8443, 9113, 9115, 5432, 6379];
    const flows = allowedFlows(objs(), parties, ports);
    const before = allowedFlows(plain[layer]!, parties.filter((p) => p !== 'parley-blackbox'), ports);
    const addedFlows = flows.filter((f) => !before.includes(f));
    expect(addedFlows.filter((f) => !f.startsWith('external -> parley-blackbox'))).toEqual([
      'monitoring -> admin:8080', 'monitoring -> chat:8080', 'monitoring -> edge:9113', 'monitoring -> parley-blackbox:9115',
      'parley-blackbox -> edge:8443',
    ]);
    // (edge:8443 was already open to everyone: the public listener.)
    expect(flowAllowed(objs(), 'parley-blackbox', DNS, 53, 'UDP')).toBe(true);
    expect(flowAllowed(objs(), 'parley-blackbox', EXTERNAL, 443)).toBe(false);
    expect(flowAllowed(objs(), EXTERNAL, 'parley-blackbox', 9115)).toBe(false);
    expect(flowAllowed(objs(), MONITORING, 'postgres', 5432)).toBe(false);
  });
});

describe('the checks catch a broken monitoring component', () => {
  it('a PodMonitor naming a port the pods do not have, a selector matching nothing, a Probe at a missing Service', () => {
    const objs = structuredClone(rendered.production!);
    find(objs, 'PodMonitor', 'parley-chat').spec.podMetricsEndpoints[0].port = 'metrics';
    find(objs, 'PodMonitor', 'parley-admin').spec.selector.matchLabels['app.kubernetes.io/name'] = 'admn';
    find(objs, 'Probe', 'parley-edge-tls').spec.prober.url = 'blackbox:9115';
    expect(monitoringRefViolations(objs)).toEqual([
      'PodMonitor/parley-admin: selects no pods',
      'PodMonitor/parley-chat: Deployment/chat has no container port named metrics',
      'Probe/parley-edge-tls prober: Service blackbox does not exist',
    ]);
  });

  it('an unknown field or a missing required field in a Prometheus Operator resource', () => {
    const pm = structuredClone(find(rendered.production!, 'PodMonitor', 'parley-chat'));
    pm.spec.podMetricsEndpoints[0].intervall = '15s';
    delete pm.spec.selector;
    expect(schemaViolations(pm)).toEqual(['PodMonitor/parley-chat: spec.selector is required', 'PodMonitor/parley-chat: unknown field /spec/podMetricsEndpoints/0/intervall']);
    expect(selects(undefined, {})).toBe(false);
  });
});
