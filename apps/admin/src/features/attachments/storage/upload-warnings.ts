// Start-up warnings for presigned uploads browsers probably cannot use: the URL names a host only the
// cluster (or this machine) knows because S3_PUBLIC_ENDPOINT is empty, or a plain-http store behind
// https pages (mixed content). Uploads still work then (the client falls back to the multipart POST
// through admin when its PUT gets no answer), but every file crosses the network twice.
import type { AdminConfig } from '../../../config.ts';

type Reach = 'loopback' | 'private' | 'public';
const RANK: Record<Reach, number> = { loopback: 0, private: 1, public: 2 };

/** How far a host name is reachable, judged from its shape alone (no DNS). */
export function reachOf(hostname: string): Reach {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\./.test(host)) return 'loopback';
  if (/^10\./.test(host) || /^192\.168\./.test(host) || /^172\.(1[6-9]|2\d|3[01])\./.test(host) || /^f[cd][0-9a-f]{2}:/.test(host)) return 'private';
  // `minio`, `minio.minio.svc`, `….cluster.local`, `….internal`: names only the cluster resolves.
  if (!host.includes('.') || /\.(svc|cluster\.local|internal|local|lan)$/.test(host)) return 'private';
  return 'public';
}

/** Sentences to log at start (empty when nothing looks wrong); `uploadOrigin`: where browsers PUT, or null. */
export function directUploadWarnings(c: Pick<AdminConfig, 'PUBLIC_URL' | 'S3_ENDPOINT' | 'S3_PUBLIC_ENDPOINT'>, uploadOrigin: string | null): string[] {
  if (!uploadOrigin) return [];
  const target = new URL(uploadOrigin);
  const pages = new URL(c.PUBLIC_URL);
  const then = 'browsers will fail the direct PUT and upload through admin instead; set S3_PUBLIC_ENDPOINT to where browsers reach the store, or S3_PRESIGNED_UPLOADS=false';
  const warnings: string[] = [];
  if (!c.S3_PUBLIC_ENDPOINT && RANK[reachOf(target.hostname)] < RANK[reachOf(pages.hostname)]) {
    warnings.push(`S3_PRESIGNED_UPLOADS is on and S3_PUBLIC_ENDPOINT is empty, so presigned upload URLs point at ${target.origin} (S3_ENDPOINT), which people reaching ${pages.origin} probably cannot reach: ${then}`);
  }
  if (pages.protocol === 'https:' && target.protocol === 'http:') {
    warnings.push(`S3_PRESIGNED_UPLOADS is on but presigned upload URLs point at plain-http ${target.origin} while pages are served over https (${pages.origin}), which browsers block as mixed content: ${then}`);
  }
  return warnings;
}
