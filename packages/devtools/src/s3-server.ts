// A real S3-compatible server of our own (s3rver, from the npm registry) in its own process on its own
// port: for attachment tests against the S3 API and for `npm run stack`. Files live in `dir`. The
// bucket gets the CORS rule browsers need for presigned PUTs from Parley's pages (docs/deploy.md).
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, waitForHttp, waitForPortFree } from './wait.ts';

export interface S3Server {
  /** http://127.0.0.1:PORT (path-style buckets). */
  endpoint: string;
  port: number;
  bucket: string;
  dir: string;
  /** s3rver accepts any well-formed signature made with these. */
  accessKeyId: string;
  secretAccessKey: string;
  /** Replaces the bucket's CORS rule: browsers on these origins may PUT (e.g. once a stack's admin URL is known). */
  allowBrowserUploads(origins: string[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The bucket CORS rule for direct uploads (S3's XML, as for PutBucketCors): PUT with Content-Type from
 * exactly these origins; the ETag is readable; preflights are cached 10 minutes.
 */
export function uploadCorsXml(origins: string[]): string {
  const allowed = origins.map((o) => `<AllowedOrigin>${new URL(o).origin}</AllowedOrigin>`).join('');
  return `<CORSConfiguration><CORSRule>${allowed}<AllowedMethod>PUT</AllowedMethod><AllowedHeader>content-type</AllowedHeader>`
    + '<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>';
}

function s3rverBin(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('s3rver/package.json')), 'bin', 's3rver.js');
  } catch {
    throw new Error('s3rver is not installed: run `npm ci` (it is a dev dependency of apps/admin, from the npm registry)');
  }
}

/** `corsOrigins`: pages that may upload straight to the bucket (none: no CORS rule, as a new S3 bucket). */
export async function startS3Server(opts: { bucket?: string; dir?: string; port?: number; corsOrigins?: string[] } = {}): Promise<S3Server> {
  const bucket = opts.bucket ?? 'parley-test';
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'parley-s3-'));
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const configs: string[] = [];
  if (opts.corsOrigins?.length) {
    const file = join(mkdtempSync(join(tmpdir(), 'parley-s3-cors-')), 'cors.xml');
    writeFileSync(file, uploadCorsXml(opts.corsOrigins));
    configs.push(file);
  }
  const child: ChildProcess = spawn(process.execPath, [s3rverBin(), '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent', '--no-vhost-buckets', '--configure-bucket', bucket, ...configs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    // The bucket answers an anonymous listing once the server is up and has made it.
    await waitForHttp(`${endpoint}/${bucket}`, { timeoutMs: 20_000 });
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`s3rver did not start on port ${port}: ${(err as Error).message}${stderr ? `\n${stderr}` : ''}`);
  }
  return {
    endpoint, port, bucket, dir, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER',
    async allowBrowserUploads(origins: string[]) {
      // s3rver takes unsigned requests (a real bucket needs the owner's credentials for PutBucketCors).
      const res = await fetch(`${endpoint}/${bucket}?cors`, { method: 'PUT', headers: { 'content-type': 'application/xml' }, body: uploadCorsXml(origins) });
      if (!res.ok) throw new Error(`s3rver refused the CORS rule: HTTP ${res.status} ${await res.text()}`);
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await waitForPortFree(port);
    },
  };
}
