// The filesystem object store: round trip, keys that would leave the folder, and that a failed upload
// leaves nothing behind (no object, no partial file).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { FsObjectStore } from './fs-store.ts';

const root = mkdtempSync(join(tmpdir(), 'parley-fs-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const store = new FsObjectStore(root);

describe('FsObjectStore', () => {
  it('puts, reads, heads and deletes (twice without error)', async () => {
    await store.put('rooms/1/a', Readable.from([Buffer.from('hello '), Buffer.from('world')]), { contentType: 'text/plain' });
    expect(await store.head('rooms/1/a')).toEqual({ size: 11, contentType: null });
    expect(await text((await store.get('rooms/1/a'))!)).toBe('hello world');
    await store.delete('rooms/1/a');
    await store.delete('rooms/1/a');
    expect(await store.head('rooms/1/a')).toBeNull();
    expect(await store.get('rooms/1/a')).toBeNull();
  });

  it('refuses keys that would leave its folder', async () => {
    for (const key of ['../x', 'rooms/../../x', '/etc/passwd', '']) await expect(store.head(key)).rejects.toThrow(/invalid storage key/);
  });

  it('keeps nothing of an upload whose stream fails', async () => {
    const failing = new Readable({ read() {} });
    failing.push(Buffer.from('partial'));
    setTimeout(() => failing.destroy(new Error('client went away')), 10);
    await expect(store.put('rooms/2/b', failing, { contentType: 'text/plain' })).rejects.toThrow(/client went away/);
    expect(await store.head('rooms/2/b')).toBeNull();
    expect(readdirSync(join(root, 'rooms/2'))).toEqual([]);
  });

  it('cannot sign URLs (uploads and downloads go through admin)', async () => {
    expect(await store.presignPut()).toBeNull();
    expect(await store.presignGet()).toBeNull();
  });
});
