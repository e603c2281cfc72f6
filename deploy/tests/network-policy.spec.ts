// The NetworkPolicies allow exactly Parley's flows (plus DNS) and nothing else, computed from the
// rendered policies; and a deliberately widened or missing policy is detected.
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { allowedFlows, DNS, EXTERNAL, flowAllowed, kustomize, scratchCopy, type K8sObject } from './support/manifests.ts';

let base: K8sObject[] = [];
let production: K8sObject[] = [];
beforeAll(() => {
  const s = scratchCopy();
  try {
    base = kustomize(join(s.dir, 'k8s/base')).objects;
    production = kustomize(join(s.dir, 'k8s/overlays/production')).objects;
  } finally {
    s.cleanup();
  }
});

const PARTIES = [EXTERNAL, 'edge', 'admin', 'chat', 'migrate', 'postgres', 'redis'];
const PORTS = [8080, 8443, 5432, 6379];
const INTENDED_BASE = [
  'admin -> chat:8080',
  'admin -> postgres:5432',
  'admin -> redis:6379',
  'chat -> postgres:5432',
  'chat -> redis:6379',
  'edge -> admin:8080',
  'edge -> chat:8080',
  'external -> edge:8080',
  'external -> edge:8443',
  'migrate -> postgres:5432',
].sort();

describe('NetworkPolicies', () => {
  it('base: exactly the intended flows between Parley\'s pods and the outside', () => {
    expect(allowedFlows(base, PARTIES, PORTS)).toEqual(INTENDED_BASE);
  });

  it('every pod may resolve names (DNS over UDP and TCP 53) and nothing else leaves the cluster', () => {
    for (const pod of ['edge', 'admin', 'chat', 'migrate', 'postgres', 'redis']) {
      expect(flowAllowed(base, pod, DNS, 53, 'UDP'), pod).toBe(true);
      expect(flowAllowed(base, pod, DNS, 53, 'TCP'), pod).toBe(true);
      expect(flowAllowed(base, pod, EXTERNAL, 443), pod).toBe(false);
    }
  });

  it('production: the apps and the migration reach the managed data services, nothing else changes', () => {
    const flows = allowedFlows(production, PARTIES.filter((p) => p !== 'postgres' && p !== 'redis'), PORTS);
    expect(flows).toEqual([
      'admin -> chat:8080', 'admin -> external:5432', 'admin -> external:6379',
      'chat -> external:5432', 'chat -> external:6379',
      'edge -> admin:8080', 'edge -> chat:8080',
      'external -> edge:8080', 'external -> edge:8443',
      'migrate -> external:5432', 'migrate -> external:6379',
    ].sort());
  });

  it('detects a widened policy (an extra flow) and a missing one (a needed flow lost)', () => {
    const widened = structuredClone(base);
    widened.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'postgres')!.spec.ingress.push({ ports: [{ protocol: 'TCP', port: 5432 }] });
    // edge's own egress policy still stops edge -> postgres; anything unisolated (the outside) gets in.
    expect(allowedFlows(widened, PARTIES, PORTS)).toContain('external -> postgres:5432');
    expect(allowedFlows(widened, PARTIES, PORTS)).not.toContain('edge -> postgres:5432');
    const narrowed = base.filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'chat'));
    expect(allowedFlows(narrowed, PARTIES, PORTS)).not.toContain('edge -> chat:8080');
    // Without the default deny, a pod without its own policy (redis here) is open to everyone.
    const noDefaultDeny = base.filter((o) => !(o.kind === 'NetworkPolicy' && ['default-deny-all', 'redis'].includes(o.metadata.name)));
    expect(allowedFlows(noDefaultDeny, PARTIES, PORTS)).toEqual(expect.arrayContaining(['external -> redis:6379', 'external -> redis:8080']));
  });
});
