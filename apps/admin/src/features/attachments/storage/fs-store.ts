// The object store on the local filesystem (embedded mode): one file per key under `root`, written to
// a temporary name and renamed when complete, so a failed or oversized upload leaves nothing behind.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ObjectStore, PresignedUpload, PutOptions, StoredObject } from './storage.ts';

const KEY_SHAPE = /^[a-z0-9][a-z0-9/_.-]*$/i;

export class FsObjectStore implements ObjectStore {
  readonly kind = 'fs';
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The file of `key`; keys are server-made, but a key that would leave `root` is refused anyway. */
  private pathOf(key: string): string {
    const path = resolve(this.root, key);
    if (!KEY_SHAPE.test(key) || key.includes('..') || !path.startsWith(this.root + sep)) throw new Error(`invalid storage key ${JSON.stringify(key)}`);
    return path;
  }

  async put(key: string, body: Readable, _opts?: PutOptions): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const partial = join(dirname(path), `.partial-${randomUUID()}`);
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<Readable | null> {
    const path = this.pathOf(key);
    if (!(await this.head(key))) return null;
    return createReadStream(path);
  }

  async head(key: string): Promise<StoredObject | null> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { size: s.size, contentType: null } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  // Uploads go through admin (multipart) and downloads through its authorized route.
  presignPut(): Promise<PresignedUpload | null> {
    return Promise.resolve(null);
  }

  presignGet(): Promise<string | null> {
    return Promise.resolve(null);
  }
}
