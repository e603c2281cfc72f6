// The object store the configuration asks for.
import type { AdminConfig } from '../../../config.ts';
import { FsObjectStore } from './fs-store.ts';
import { S3ObjectStore } from './s3-store.ts';
import type { ObjectStore } from './storage.ts';

export function objectStoreFromConfig(c: AdminConfig): ObjectStore {
  if (c.STORAGE_BACKEND === 'fs') return new FsObjectStore(c.STORAGE_DIR);
  return new S3ObjectStore({
    bucket: c.S3_BUCKET,
    region: c.S3_REGION,
    ...(c.S3_ENDPOINT ? { endpoint: c.S3_ENDPOINT } : {}),
    ...(c.S3_PUBLIC_ENDPOINT ? { publicEndpoint: c.S3_PUBLIC_ENDPOINT } : {}),
    forcePathStyle: c.S3_FORCE_PATH_STYLE,
    ...(c.S3_ACCESS_KEY_ID ? { credentials: { accessKeyId: c.S3_ACCESS_KEY_ID, secretAccessKey: c.S3_SECRET_ACCESS_KEY } } : {}),
    prefix: c.S3_KEY_PREFIX,
  });
}
