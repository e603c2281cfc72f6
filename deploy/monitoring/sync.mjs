#!/usr/bin/env node
// Regenerates prometheusrule.yaml (the PrometheusRule for Prometheus Operator users) from rules.yml,
// the one place alerts are written. deploy/tests/monitoring-rules.spec.ts fails when they differ.
//   node deploy/monitoring/sync.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const rules = parse(readFileSync(resolve(here, 'rules.yml'), 'utf8'));
const resource = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: {
    name: 'parley',
    labels: { 'app.kubernetes.io/name': 'parley', 'app.kubernetes.io/component': 'monitoring', prometheus: 'parley', role: 'alert-rules' },
  },
  spec: rules,
};
writeFileSync(resolve(here, 'prometheusrule.yaml'), `# GENERATED from rules.yml by \`node deploy/monitoring/sync.mjs\`: edit rules.yml, then run it.\n${stringify(resource, { lineWidth: 0 })}`);
