import { describe, expect, it } from 'vitest';
import { formatBytes } from './format-bytes.ts';

describe('formatBytes', () => {
  it('says bytes up to 1 KB, then one decimal below 10 of a unit', () => {
    expect([0, 1023, 1024, 1536, 10 * 1024, 64 * 1024, 25 * 1024 * 1024, 1.25 * 1024 ** 3, 3 * 1024 ** 4].map(formatBytes))
      .toEqual(['0 B', '1,023 B', '1.0 KB', '1.5 KB', '10 KB', '64 KB', '25 MB', '1.3 GB', '3.0 TB']);
  });
});
