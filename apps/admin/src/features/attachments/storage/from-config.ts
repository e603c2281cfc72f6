// The object store the configuration asks for, and the origin browsers reach it at.
import type { AdminConfig } from '../../../config.ts';
import { FsObjectStore } from './fs-store.ts';
import { s3BrowserOrigin, S3ObjectStore, type S3StoreOptions } from './s3-store.ts';
import type { ObjectStore } from './storage.ts';

function s3Options(c: AdminConfig): S3StoreOptions {
  return {
    bucket: c.S3_BUCKET,
    region: c.S3_REGION,
    ...(c.S3_ENDPOINT ? { endpoint: c.S3_ENDPOINT } : {}),
    ...(c.S3_PUBLIC_ENDPOINT ? { publicEndpoint: c.S3_PUBLIC_ENDPOINT } : {}),
    forcePathStyle: c.S3_FORCE_PATH_STYLE,
    ...(c.S3_ACCESS_KEY_ID ? { credentials: { accessKeyId: c.S3_ACCESS_KEY_ID, secretAccessKey: c.S3_SECRET_ACCESS_KEY } } : {}),
    prefix: c.S3_KEY_PREFIX,
  };
}

export function objectStoreFromConfig(c: AdminConfig): ObjectStore {
  if (c.STORAGE_BACKEND === 'fs') return new FsObjectStore(c.STORAGE_DIR);
  return new S3ObjectStore(s3Options(c));
}

/**
 * Where pages must be allowed to reach the store (Content-Security-Policy): `upload` for presigned PUTs
 * (connect-src), `download` for presigned GET redirects (img-src); null when the pages never go there.
 */
export async function storeBrowserOrigins(c: AdminConfig): Promise<{ upload: string | null; download: string | null }> {
  if (c.STORAGE_BACKEND !== 's3' || (!c.S3_PRESIGNED_UPLOADS && !c.S3_PRESIGNED_DOWNLOADS)) return { upload: null, download: null };
  const origin = await s3BrowserOrigin(s3Options(c));
  return { upload: c.S3_PRESIGNED_UPLOADS ? origin : null, download: c.S3_PRESIGNED_DOWNLOADS ? origin : null };
}
