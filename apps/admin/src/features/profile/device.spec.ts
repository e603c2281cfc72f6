import { describe, expect, it } from 'vitest';
import { ago, describeDevice } from './device.ts';

describe('describeDevice', () => {
  it('names common browsers and systems', () => {
    expect(describeDevice('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36')).toBe('Chrome on Linux');
    expect(describeDevice('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1')).toBe('Safari on iOS');
    expect(describeDevice('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0')).toBe('Firefox on Windows');
    expect(describeDevice('')).toBe('Unknown device');
  });
  it('says how long ago', () => {
    expect(ago(1_000_000, 1_000_000 + 5_000)).toBe('just now');
    expect(ago(0, 5 * 60_000)).toBe('5 min ago');
  });
});
