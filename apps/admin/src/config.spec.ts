import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '@parley/config';
import { adminConfigSchema } from './config.ts';

const base = { DATABASE_URL: 'postgres://u:p@localhost:5432/db', INTERNAL_TOKEN: 'i'.repeat(32), CHAT_TOKEN_SECRET: 'c'.repeat(32), SESSION_SECRET: 's'.repeat(32) };

describe('admin config: chat token lifetime and control event retention', () => {
  it('bounds CHAT_TOKEN_TTL_SECONDS to at most 5 minutes (revocations must outlive every token)', () => {
    expect(parseConfig(adminConfigSchema, base).CHAT_TOKEN_TTL_SECONDS).toBe(60);
    expect(parseConfig(adminConfigSchema, { ...base, CHAT_TOKEN_TTL_SECONDS: '300' }).CHAT_TOKEN_TTL_SECONDS).toBe(300);
    expect(() => parseConfig(adminConfigSchema, { ...base, CHAT_TOKEN_TTL_SECONDS: '301' })).toThrow(ConfigError);
    expect(() => parseConfig(adminConfigSchema, { ...base, CHAT_TOKEN_TTL_SECONDS: '86400' })).toThrow(/CHAT_TOKEN_TTL_SECONDS must be at most 300 seconds/);
  });

  it('keeps control events 7 days unless told otherwise, and at least an hour', () => {
    expect(parseConfig(adminConfigSchema, base).CONTROL_EVENT_RETENTION_HOURS).toBe(168);
    expect(parseConfig(adminConfigSchema, { ...base, CONTROL_EVENT_RETENTION_HOURS: '24' }).CONTROL_EVENT_RETENTION_HOURS).toBe(24);
    expect(() => parseConfig(adminConfigSchema, { ...base, CONTROL_EVENT_RETENTION_HOURS: '0' })).toThrow(ConfigError);
  });
});

describe('admin config: attachments', () => {
  it('keeps files in a folder, up to 25 MB, unless told otherwise', () => {
    const c = parseConfig(adminConfigSchema, base);
    expect([c.STORAGE_BACKEND, c.STORAGE_DIR, c.ATTACHMENT_MAX_BYTES, c.S3_PRESIGNED_UPLOADS, c.S3_PRESIGNED_DOWNLOADS]).toEqual(['fs', '.data/attachments', 25 * 1024 * 1024, true, false]);
  });

  it('needs a bucket for s3, and both halves of an access key or neither', () => {
    expect(() => parseConfig(adminConfigSchema, { ...base, STORAGE_BACKEND: 's3' })).toThrow(/S3_BUCKET must be set when STORAGE_BACKEND is s3/);
    expect(parseConfig(adminConfigSchema, { ...base, STORAGE_BACKEND: 's3', S3_BUCKET: 'files' }).S3_BUCKET).toBe('files');
    expect(() => parseConfig(adminConfigSchema, { ...base, STORAGE_BACKEND: 's3', S3_BUCKET: 'files', S3_ACCESS_KEY_ID: 'AKIA' })).toThrow(/S3_SECRET_ACCESS_KEY must be set together/);
    expect(() => parseConfig(adminConfigSchema, { ...base, STORAGE_BACKEND: 'gcs' })).toThrow(/STORAGE_BACKEND must be fs or s3/);
    expect(() => parseConfig(adminConfigSchema, { ...base, S3_ENDPOINT: 'minio:9000' })).toThrow(/S3_ENDPOINT/);
  });
});
