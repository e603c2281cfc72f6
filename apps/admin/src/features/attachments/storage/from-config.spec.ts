// The store's origin for the pages' Content-Security-Policy: derived from the configuration, exactly the
// origin of the URLs the store really presigns (path style, virtual-hosted, AWS's regional host, a
// public endpoint), and none at all unless the pages talk to the bucket.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@parley/config';
import { adminConfigSchema } from '../../../config.ts';
import { objectStoreFromConfig, storeBrowserOrigins } from './from-config.ts';

const base = { DATABASE_URL: 'postgres://u:p@localhost:5432/db', INTERNAL_TOKEN: 'i'.repeat(32), CHAT_TOKEN_SECRET: 'c'.repeat(32), SESSION_SECRET: 's'.repeat(32) };
const s3 = { STORAGE_BACKEND: 's3', S3_BUCKET: 'parley-files', S3_ACCESS_KEY_ID: 'key', S3_SECRET_ACCESS_KEY: 'secret' };
const config = (env: Record<string, string>) => parseConfig(adminConfigSchema, { ...base, ...env });

describe('storeBrowserOrigins', () => {
  it.each([
    ['MinIO, path style', { S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: 'true' }, 'http://127.0.0.1:9000'],
    ['MinIO inside the cluster, reached elsewhere by browsers', { S3_ENDPOINT: 'http://minio:9000', S3_PUBLIC_ENDPOINT: 'https://files.example.com:8443', S3_FORCE_PATH_STYLE: 'true' }, 'https://files.example.com:8443'],
    ['AWS S3', { S3_REGION: 'eu-west-1' }, 'https://parley-files.s3.eu-west-1.amazonaws.com'],
    ['Google Cloud Storage', { S3_ENDPOINT: 'https://storage.googleapis.com', S3_REGION: 'auto' }, 'https://parley-files.storage.googleapis.com'],
  ])('%s: the origin of the presigned upload URLs', async (_name, env, origin) => {
    const c = config({ ...s3, ...env });
    expect(await storeBrowserOrigins(c)).toEqual({ upload: origin, download: null });
    const signed = await objectStoreFromConfig(c).presignPut('rooms/1/x', { contentType: 'image/png', size: 10, expiresInSeconds: 60 });
    expect(new URL(signed!.url).origin).toBe(origin);
  });

  it('none for the folder store, or when neither uploads nor downloads are presigned; downloads alone for img-src', async () => {
    expect(await storeBrowserOrigins(config({}))).toEqual({ upload: null, download: null });
    const minio = { ...s3, S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: 'true' };
    expect(await storeBrowserOrigins(config({ ...minio, S3_PRESIGNED_UPLOADS: 'false' }))).toEqual({ upload: null, download: null });
    expect(await storeBrowserOrigins(config({ ...minio, S3_PRESIGNED_UPLOADS: 'false', S3_PRESIGNED_DOWNLOADS: 'true' }))).toEqual({ upload: null, download: 'http://127.0.0.1:9000' });
  });
});
