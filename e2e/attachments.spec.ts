// Attachments with real processes: two admin replicas sharing one S3-compatible store (s3rver in its own
// process) and two chat replicas. A file uploaded through one admin downloads from the other, survives a
// chat replica's restart, and stays out of reach of people outside its private room.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, startS3Server, startStack, waitForPortFree, type S3Server, type Stack, type TestDatabase } from '@parley/devtools';
import { PanelClient, newUser } from './support/http.ts';

let db: TestDatabase;
let s3: S3Server;
let stack: Stack;

beforeAll(async () => {
  db = await createTestDatabase('e2e_attachments');
  s3 = await startS3Server();
  stack = await startStack({
    databaseUrl: db.url,
    chatReplicas: 2,
    extraAdmins: [{}],
    storage: { s3: { endpoint: s3.endpoint, bucket: s3.bucket, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true, presignedUploads: true } },
    adminEnv: { LOG_LEVEL: 'warn' },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await s3?.stop();
  await db?.drop();
});

async function signedUp(baseUrl: string, label: string): Promise<PanelClient> {
  const client = new PanelClient(baseUrl);
  await client.signUp(newUser(label));
  return client;
}

describe('attachments across replicas', () => {
  it('uploads through one admin, downloads through the other, still after a chat replica restarts; outsiders get 403', { timeout: 120_000 }, async () => {
    const owner = await signedUp(stack.adminUrl, 'owner');
    const outsider = await signedUp(stack.adminUrl, 'outsider');
    const roomId = await owner.createRoom(`Files ${Date.now().toString(36)}`, 'private');
    const bytes = Buffer.from('quarterly numbers\n'.repeat(1000));
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'text/csv' }), 'numbers.csv');
    const csrf = await owner.csrf('/rooms');
    const uploaded = await owner.request(`/api/rooms/${roomId}/attachments`, { method: 'POST', headers: { 'x-csrf-token': csrf }, body: form });
    expect(uploaded.status, await uploaded.clone().text()).toBe(201);
    const { id } = (await uploaded.json()) as { id: string };

    // Sent in a message, the way chat's send path will link it.
    const ownerId = Number((await db.pool.query<{ uploader_id: string }>('SELECT uploader_id FROM attachments WHERE id = $1', [id])).rows[0]!.uploader_id);
    const seq = Number((await db.pool.query<{ last_seq: string }>('UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq', [roomId])).rows[0]!.last_seq);
    await db.pool.query('INSERT INTO messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, $2, $3, $4, $5)', [roomId, seq, ownerId, `att-${id}`, 'see attached']);
    await db.pool.query('UPDATE attachments SET message_seq = $2 WHERE id = $1', [id, seq]);

    const download = async (client: PanelClient) => {
      const res = await client.request(`/api/attachments/${id}`);
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
    };
    const first = await download(owner);
    expect(first.status).toBe(200);
    expect(first.body.equals(bytes)).toBe(true);
    expect(first.headers.get('content-disposition')).toMatch(/^attachment; filename="numbers.csv"/);
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    expect(first.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'");
    // The same browser through the second admin (same session store in Postgres, same bucket).
    const cookieHeader = ['parley_sid', 'parley_csrf'].map((n) => `${n}=${owner.cookie(n) ?? ''}`).join('; ');
    const other = await fetch(`${stack.extraAdmins[0]!.url}/api/attachments/${id}`, { headers: { cookie: cookieHeader } });
    expect(other.status).toBe(200);
    expect(Buffer.from(await other.arrayBuffer()).equals(bytes)).toBe(true);

    // A chat replica restarts (files are admin's and the store's: nothing to lose there).
    const replica = stack.chats[0]!;
    await replica.process.stop('SIGTERM', 10_000);
    await waitForPortFree(replica.port);
    await stack.startChat(0);
    const after = await download(owner);
    expect(after.status).toBe(200);
    expect(after.body.equals(bytes)).toBe(true);

    expect((await download(outsider)).status).toBe(403);
  });
});
