// Start-up warnings for presigned uploads browsers cannot use: an in-cluster endpoint without
// S3_PUBLIC_ENDPOINT, or a plain-http store behind https pages; silence for working set-ups.
import { describe, expect, it } from 'vitest';
import { directUploadWarnings, reachOf } from './upload-warnings.ts';

const cfg = (PUBLIC_URL: string, S3_ENDPOINT: string, S3_PUBLIC_ENDPOINT = '') => ({ PUBLIC_URL, S3_ENDPOINT, S3_PUBLIC_ENDPOINT });

describe('directUploadWarnings', () => {
  it('warns when the URLs name a host only the cluster knows and S3_PUBLIC_ENDPOINT is empty', () => {
    const [warning, ...rest] = directUploadWarnings(cfg('https://chat.example.com', 'http://minio.minio.svc:9000'), 'http://minio.minio.svc:9000');
    expect(warning).toMatch(/S3_PUBLIC_ENDPOINT is empty.*http:\/\/minio\.minio\.svc:9000.*upload through admin/);
    expect(rest).toEqual([expect.stringMatching(/mixed content/) as string]);
    expect(directUploadWarnings(cfg('https://chat.example.com', 'https://minio'), 'https://minio')).toHaveLength(1);
    expect(directUploadWarnings(cfg('https://chat.example.com', 'https://10.0.0.5:9000'), 'https://10.0.0.5:9000')).toHaveLength(1);
  });

  it('is silent for AWS, a public endpoint, S3_PUBLIC_ENDPOINT set, a local set-up, or no presigned uploads', () => {
    expect(directUploadWarnings(cfg('https://chat.example.com', ''), 'https://b.s3.eu-west-1.amazonaws.com')).toEqual([]);
    expect(directUploadWarnings(cfg('https://chat.example.com', 'http://minio:9000', 'https://files.example.com'), 'https://files.example.com')).toEqual([]);
    expect(directUploadWarnings(cfg('http://localhost:3000', 'http://127.0.0.1:9000'), 'http://127.0.0.1:9000')).toEqual([]);
    expect(directUploadWarnings(cfg('https://chat.example.com', 'http://minio:9000'), null)).toEqual([]);
  });

  it('warns about mixed content whatever the endpoint variable', () => {
    expect(directUploadWarnings(cfg('https://chat.example.com', 'http://minio:9000', 'http://files.example.com'), 'http://files.example.com'))
      .toEqual([expect.stringMatching(/plain-http http:\/\/files\.example\.com.*mixed content/) as string]);
  });

  it('judges reach from the host name alone', () => {
    expect(['localhost', '127.0.0.1', '[::1]', 'minio', 'minio.minio.svc', 's3.cluster.local', '192.168.1.2', '172.20.0.1', 'storage.googleapis.com'].map(reachOf))
      .toEqual(['loopback', 'loopback', 'loopback', 'private', 'private', 'private', 'private', 'private', 'public']);
  });
});
