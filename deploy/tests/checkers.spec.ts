// Each manifest rule fails when broken: start from the rendered base (clean), break one thing, and the
// checker must report exactly that kind of violation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { allViolations, kustomize, scratchCopy, type K8sObject } from './support/manifests.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
let clean: K8sObject[] = [];
let scratch: ReturnType<typeof scratchCopy>;
beforeAll(() => {
  scratch = scratchCopy();
  clean = kustomize(join(scratch.dir, 'k8s/base')).objects;
});
afterAll(() => scratch?.cleanup());

const check = (objs: K8sObject[]) => allViolations(objs, ['admin', 'chat', 'edge'], { externalSecrets: ['parley-tls'] });
const get = (objs: K8sObject[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name)!;
const pod = (objs: K8sObject[], name = 'chat', kind = 'Deployment') => get(objs, kind, name).spec.template.spec;
const ctr = (objs: K8sObject[], name = 'chat', kind = 'Deployment') => pod(objs, name, kind).containers[0];
const drop = (objs: K8sObject[], kind: string, name: string) => objs.splice(objs.findIndex((o) => o.kind === kind && o.metadata.name === name), 1);

const breakages: [string, (objs: K8sObject[]) => void, RegExp][] = [
  // schema
  ['wrong type', (o) => { ctr(o).image = 42; }, /containers\/0\/image must be string/],
  ['missing required field', (o) => { delete ctr(o).name; }, /must have required property name/],
  ['unknown kind', (o) => { o.push({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'parley' } }); }, /unknown apiVersion\/kind/],
  ['unknown field (typo)', (o) => { ctr(o).imagePullPolicyy = 'Always'; }, /unknown field \/spec\/template\/spec\/containers\/0\/imagePullPolicyy/],
  ['unknown field in metadata', (o) => { get(o, 'Service', 'chat').metadata.lables = { a: 'b' }; }, /Service\/chat: unknown field \/metadata\/lables/],
  ['unknown field in a CRD', (o) => { o.push({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'c', namespace: 'parley' }, spec: { secretName: 'x', issuerRef: { name: 'i' }, dnsName: ['a'] } }); }, /unknown field \/spec\/dnsName/],
  // restricted PSS
  ['privilege escalation', (o) => { ctr(o).securityContext.allowPrivilegeEscalation = true; }, /allowPrivilegeEscalation must be false/],
  ['runAsNonRoot missing', (o) => { delete ctr(o).securityContext.runAsNonRoot; delete pod(o).securityContext.runAsNonRoot; }, /runAsNonRoot must be true/],
  ['root user', (o) => { ctr(o).securityContext.runAsUser = 0; }, /runAsUser 0/],
  ['no seccomp', (o) => { delete ctr(o).securityContext.seccompProfile; delete pod(o).securityContext.seccompProfile; }, /seccompProfile/],
  ['capabilities kept', (o) => { ctr(o).securityContext.capabilities.drop = ['NET_ADMIN']; }, /capabilities.drop must include ALL/],
  ['capability added', (o) => { ctr(o).securityContext.capabilities.add = ['SYS_ADMIN']; }, /only NET_BIND_SERVICE/],
  ['hostPath volume', (o) => { pod(o).volumes.push({ name: 'h', hostPath: { path: '/' } }); }, /volume h of type hostPath not allowed/],
  ['privileged', (o) => { ctr(o).securityContext.privileged = true; }, /privileged/],
  ['host network', (o) => { pod(o).hostNetwork = true; }, /host/],
  // kube-score / kube-linter
  ['no ephemeral-storage limit', (o) => { delete ctr(o).resources.limits['ephemeral-storage']; }, /resources.limits.ephemeral-storage missing/],
  ['no cpu request', (o) => { delete ctr(o).resources.requests.cpu; }, /resources.requests.cpu missing/],
  ['latest tag', (o) => { ctr(o).image = 'parley-chat:latest'; }, /no pinned tag/],
  ['untagged image', (o) => { ctr(o).image = 'parley-chat'; }, /no pinned tag/],
  ['writable root filesystem', (o) => { ctr(o).securityContext.readOnlyRootFilesystem = false; }, /readOnlyRootFilesystem must be true/],
  ['low UID', (o) => { ctr(o).securityContext.runAsUser = 1000; }, /runAsUser must be > 10000/],
  ['low GID', (o) => { ctr(o).securityContext.runAsGroup = 1000; }, /runAsGroup must be > 10000/],
  ['identical probes', (o) => { ctr(o).livenessProbe = structuredClone(ctr(o).readinessProbe); }, /probes are identical/],
  ['no liveness probe', (o) => { delete ctr(o).livenessProbe; }, /livenessProbe missing/],
  ['no readiness probe', (o) => { delete ctr(o, 'postgres', 'StatefulSet').readinessProbe; }, /StatefulSet\/postgres container postgres: readinessProbe missing/],
  ['secret in a plain env value', (o) => { ctr(o).env.push({ name: 'API_TOKEN', value: 'hunter2' }); }, /secret-looking env API_TOKEN/],
  ['token automounted', (o) => { pod(o).automountServiceAccountToken = true; }, /automountServiceAccountToken must be false/],
  ['single replica', (o) => { get(o, 'HorizontalPodAutoscaler', 'chat').spec.minReplicas = 1; }, /Deployment\/chat: fewer than 2 replicas/],
  ['no PDB', (o) => { drop(o, 'PodDisruptionBudget', 'edge'); }, /Deployment\/edge: no PodDisruptionBudget/],
  ['no spread', (o) => { delete pod(o, 'admin').topologySpreadConstraints; }, /Deployment\/admin: no host anti-affinity or topology spread/],
  ['unsafe rollout', (o) => { get(o, 'Deployment', 'chat').spec.strategy.rollingUpdate.maxUnavailable = 1; }, /maxUnavailable 0/],
  ['no NetworkPolicy', (o) => { drop(o, 'NetworkPolicy', 'default-deny-all'); drop(o, 'NetworkPolicy', 'redis'); }, /StatefulSet\/redis: no NetworkPolicy/],
  ['NodePort', (o) => { get(o, 'Service', 'chat').spec.type = 'NodePort'; }, /Service\/chat: NodePort/],
  ['StatefulSet without serviceName', (o) => { delete get(o, 'StatefulSet', 'redis').spec.serviceName; }, /StatefulSet without serviceName/],
  // cross-references
  ['Service selector matches nothing', (o) => { get(o, 'Service', 'chat').spec.selector = { 'app.kubernetes.io/name': 'chatt' }; }, /Service\/chat: selector .* matches no pods/],
  ['Service targetPort missing', (o) => { get(o, 'Service', 'admin').spec.ports[0].targetPort = 'web'; }, /targetPort web does not exist/],
  ['Deployment selector vs labels', (o) => { get(o, 'Deployment', 'admin').spec.template.metadata.labels['app.kubernetes.io/name'] = 'other'; }, /Deployment\/admin: selector does not match its pod labels/],
  ['missing Secret key', (o) => { ctr(o).env.find((e: any) => e.name === 'INTERNAL_TOKEN').valueFrom.secretKeyRef.key = 'NOPE'; }, /has no key NOPE/],
  ['missing Secret', (o) => { ctr(o).env.find((e: any) => e.name === 'INTERNAL_TOKEN').valueFrom.secretKeyRef.name = 'nope'; }, /Secret nope does not exist/],
  ['missing ConfigMap', (o) => { ctr(o).env.find((e: any) => e.name === 'LOG_LEVEL').valueFrom.configMapKeyRef.name = 'nope'; }, /ConfigMap nope does not exist/],
  ['missing ConfigMap key', (o) => { ctr(o).env.find((e: any) => e.name === 'LOG_LEVEL').valueFrom.configMapKeyRef.key = 'NOPE'; }, /has no key NOPE/],
  ['missing ServiceAccount', (o) => { pod(o).serviceAccountName = 'ghost'; }, /ServiceAccount ghost does not exist/],
  ['undeclared probe port', (o) => { ctr(o).readinessProbe.httpGet.port = 'metrics'; }, /readinessProbe port metrics is not declared/],
  ['volume mount without volume', (o) => { ctr(o).volumeMounts.push({ name: 'ghost', mountPath: '/x' }); }, /volumeMount ghost has no volume/],
  ['serviceName not headless', (o) => { get(o, 'StatefulSet', 'postgres').spec.serviceName = 'postgres'; }, /not a headless Service/],
  ['HPA target missing', (o) => { get(o, 'HorizontalPodAutoscaler', 'chat').spec.scaleTargetRef.name = 'chat2'; }, /scale target Deployment\/chat2 does not exist/],
  ['edge TLS Secret missing', (o) => { pod(o, 'edge').volumes.find((v: any) => v.name === 'tls').secret.secretName = 'tls-nope'; }, /Secret tls-nope does not exist/],
];

describe('manifest checkers', () => {
  it('the clean base has no violations', () => {
    expect(check(clean)).toEqual([]);
  });

  it.each(breakages)('reports: %s', (_name, breakIt, expected) => {
    const objs = structuredClone(clean);
    breakIt(objs);
    const violations = check(objs);
    expect(violations.some((v) => expected.test(v)), `expected a violation matching ${expected}, got:\n${violations.join('\n')}`).toBe(true);
  });
});
