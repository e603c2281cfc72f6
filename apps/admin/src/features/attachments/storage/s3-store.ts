// The object store on any S3-compatible service (AWS S3, Google Cloud Storage's XML API with HMAC
// keys, MinIO) through the AWS SDK v3. Browsers upload straight to the bucket with presigned PUT URLs;
// admin streams the rest (multipart uploads through admin, authorized downloads).
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, NotFound, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import type { DownloadOverrides, ObjectStore, PresignedUpload, PutOptions, StoredObject } from './storage.ts';

export interface S3StoreOptions {
  bucket: string;
  region: string;
  /** Unset: AWS S3 itself. */
  endpoint?: string;
  /** Where browsers reach the store, when it differs from `endpoint` (e.g. MinIO inside the cluster). */
  publicEndpoint?: string;
  /** Bucket in the path (MinIO, most self-hosted stores) instead of the host name. */
  forcePathStyle: boolean;
  /** Unset: the SDK's default chain (environment, web identity / IRSA, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Key prefix inside the bucket (may be ''). */
  prefix: string;
}

function client(o: S3StoreOptions, endpoint: string | undefined): S3Client {
  return new S3Client({
    region: o.region,
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: o.forcePathStyle,
    ...(o.credentials ? { credentials: o.credentials } : {}),
    // Checksums only where the API requires them: several S3-compatible stores (GCS interoperability,
    // older MinIO) reject the SDK's default CRC32 trailers and aws-chunked uploads.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * The origin browsers send presigned requests to (scheme, host, port), as the SDK itself builds the URLs
 * (path or virtual-hosted style, AWS's regional host): signed offline with placeholder keys, so it
 * needs neither the real credentials nor the network.
 */
export async function s3BrowserOrigin(o: S3StoreOptions): Promise<string> {
  const probe = client({ ...o, credentials: { accessKeyId: 'origin-probe', secretAccessKey: 'origin-probe' } }, o.publicEndpoint ?? o.endpoint);
  try {
    const url = await getSignedUrl(probe, new PutObjectCommand({ Bucket: o.bucket, Key: `${o.prefix}origin-probe` }), { expiresIn: 60 });
    return new URL(url).origin;
  } finally {
    probe.destroy();
  }
}

const isMissing = (err: unknown) =>
  err instanceof NotFound || err instanceof NoSuchKey || (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404);

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3';
  private readonly s3: S3Client;
  private readonly signer: S3Client;

  constructor(private readonly o: S3StoreOptions) {
    this.s3 = client(o, o.endpoint);
    this.signer = o.publicEndpoint ? client(o, o.publicEndpoint) : this.s3;
  }

  private key(key: string): string {
    return `${this.o.prefix}${key}`;
  }

  async put(key: string, body: Readable, opts: PutOptions): Promise<void> {
    // Length unknown in advance (a streamed multipart upload): lib-storage sends it in parts, and aborts
    // the multipart upload when the stream fails, so nothing appears under the key.
    await new Upload({ client: this.s3, params: { Bucket: this.o.bucket, Key: this.key(key), Body: body, ContentType: opts.contentType } }).done();
  }

  async get(key: string): Promise<Readable | null> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: this.key(key) }));
      if (!(out.Body instanceof Readable)) throw new Error('S3 GetObject returned no Node stream');
      return out.Body;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async head(key: string): Promise<StoredObject | null> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: this.key(key) }));
      return { size: out.ContentLength ?? 0, contentType: out.ContentType ?? null };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 for a key that does not exist, so a retried delete succeeds.
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key: this.key(key) }));
  }

  async presignPut(key: string, opts: PutOptions & { size: number; expiresInSeconds: number }): Promise<PresignedUpload> {
    // Content-Type and Content-Length are signed: the browser must upload exactly what it announced
    // (the complete step checks the stored size again, for stores that do not enforce it).
    const command = new PutObjectCommand({ Bucket: this.o.bucket, Key: this.key(key), ContentType: opts.contentType, ContentLength: opts.size });
    const url = await getSignedUrl(this.signer, command, { expiresIn: opts.expiresInSeconds, signableHeaders: new Set(['content-type', 'content-length']) });
    return { url, method: 'PUT', headers: { 'content-type': opts.contentType }, expiresAt: new Date(Date.now() + opts.expiresInSeconds * 1000) };
  }

  async presignGet(key: string, opts: DownloadOverrides & { expiresInSeconds: number }): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.o.bucket, Key: this.key(key), ResponseContentType: opts.contentType, ResponseContentDisposition: opts.contentDisposition,
    });
    return getSignedUrl(this.signer, command, { expiresIn: opts.expiresInSeconds });
  }
}
