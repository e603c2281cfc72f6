import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DependencyStatus } from './dependency-status.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

describe('DependencyStatus', () => {
  it('logs an outage once when it starts and once when it ends, with the failures in between', async () => {
    const { log, lines } = capture();
    const status = new DependencyStatus(log, 'postgres');
    status.succeeded();
    for (let i = 0; i < 70; i++) status.failed(new Error('connect ECONNREFUSED'));
    expect(status.up).toBe(false);
    status.succeeded();
    status.succeeded();
    status.failed(new Error('again'));
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.msg)).toEqual([
      'postgres unavailable; failures are counted until it is back',
      'postgres available again',
      'postgres unavailable; failures are counted until it is back',
    ]);
    expect(lines[0]).toMatchObject({ dependency: 'postgres', err: 'connect ECONNREFUSED' });
    expect(lines[1]).toMatchObject({ failures: 70 });
    expect(status.outages).toBe(2);
  });
});
