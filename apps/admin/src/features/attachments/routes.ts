// Attachment HTTP API: upload (multipart through admin, or a presigned direct upload to the bucket),
// download (access re-checked on every request), and storage usage for admins. File responses are
// built so that user content never runs script on Parley's origin: `nosniff`, a sandboxing CSP, and
// `Content-Disposition: attachment` for anything but the raster image types.
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import { requireUser } from '../../plugins/session.ts';
import { sendError } from '../../plugins/errors.ts';
import { TooLargeError, viewOf, type Download } from './service.ts';

const roomIdParam = z.object({ id: z.coerce.number().int().positive() });
const attachmentIdParam = z.object({ id: z.string().uuid() });
/** `fallback=direct`: the browser's direct PUT to the bucket got no answer (CORS, mixed content, network). */
const uploadQuery = z.object({ fallback: z.literal('direct').optional() });
const FALLBACK_WARNING_EVERY_MS = 10 * 60_000;
const directUploadSchema = z.object({
  name: z.string().min(1).max(1000),
  type: z.string().max(200).optional(),
  size: z.number().int().min(0),
});

/** Headers of every file response: the bytes are the browser's to show or save, never to run. */
export const FILE_RESPONSE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "sandbox; default-src 'none'",
  'cross-origin-resource-policy': 'same-origin',
} as const;

function sendDownload(reply: FastifyReply, d: Download) {
  if (d.kind === 'redirect') return reply.header('cache-control', 'no-store').redirect(d.url, 302);
  reply.headers(FILE_RESPONSE_HEADERS).header('content-type', d.contentType).header('content-disposition', d.disposition).header('cache-control', 'private, no-store');
  if (d.size !== null) reply.header('content-length', String(d.size));
  return reply.send(d.body);
}

export async function attachmentRoutes(app: FastifyInstance, s: AdminServices) {
  const files = s.attachmentService;
  // One file per request; busboy stops reading one byte past the limit and the service answers 413.
  await app.register(fastifyMultipart, { limits: { fileSize: files.maxBytes + 1, files: 1, fields: 4, parts: 5, fieldSize: 1024 } });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof TooLargeError || (err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
      return sendError(req, reply, 413, new TooLargeError(files.maxBytes).message);
    }
    throw err;
  });

  let lastFallbackWarning = -Infinity;
  app.post('/api/rooms/:id/attachments', { preHandler: requireUser }, async (req, reply) => {
    const params = roomIdParam.safeParse(req.params);
    if (!params.success) return sendError(req, reply, 404, 'There is no such room.');
    // Each such upload crosses the network twice; tell operators (at most every 10 minutes per process).
    if (uploadQuery.safeParse(req.query).data?.fallback && Date.now() - lastFallbackWarning >= FALLBACK_WARNING_EVERY_MS) {
      lastFallbackWarning = Date.now();
      req.log.warn(
        { roomId: params.data.id },
        "a browser's direct upload to the bucket got no answer (no CORS rule for PUBLIC_URL's origin, mixed content, or an endpoint browsers cannot reach; see docs/deploy.md): it uploads through admin instead",
      );
    }
    if (!req.isMultipart()) return sendError(req, reply, 415, 'Send the file as multipart/form-data.');
    const part = await req.file();
    if (!part) return sendError(req, reply, 400, 'Attach one file.');
    const attachment = await files.upload(req.user!, params.data.id, { name: part.filename, contentType: part.mimetype, body: part.file });
    req.log.info({ attachmentId: attachment.id, roomId: attachment.roomId, bytes: attachment.sizeBytes }, 'attachment uploaded');
    return reply.code(201).send(viewOf(attachment));
  });

  // Direct upload to the bucket: `upload` is null when the store cannot take one (use the route above).
  app.post('/api/rooms/:id/attachments/direct', { preHandler: requireUser }, async (req, reply) => {
    const params = roomIdParam.safeParse(req.params);
    if (!params.success) return sendError(req, reply, 404, 'There is no such room.');
    const body = directUploadSchema.safeParse(req.body);
    if (!body.success) return sendError(req, reply, 400, 'Give the file name, type and size.');
    const started = await files.startDirectUpload(req.user!, params.data.id, { name: body.data.name, contentType: body.data.type, size: body.data.size });
    if (!started) return reply.send({ attachment: null, upload: null });
    return reply.code(201).send({ attachment: viewOf(started.attachment), upload: started.upload });
  });

  app.post('/api/attachments/:id/complete', { preHandler: requireUser }, async (req, reply) => {
    const params = attachmentIdParam.safeParse(req.params);
    if (!params.success) return sendError(req, reply, 404, 'There is no such upload.');
    return reply.send(viewOf(await files.completeDirectUpload(req.user!, params.data.id)));
  });

  app.get('/api/attachments/:id/info', { preHandler: requireUser }, async (req, reply) => {
    const params = attachmentIdParam.safeParse(req.params);
    if (!params.success) return sendError(req, reply, 404, 'There is no such file.');
    return reply.send(viewOf(await files.readable(req.user!, params.data.id)));
  });

  app.get('/api/attachments/:id', { preHandler: requireUser }, async (req, reply) => {
    const params = attachmentIdParam.safeParse(req.params);
    if (!params.success) return sendError(req, reply, 404, 'There is no such file.');
    return sendDownload(reply, await files.download(req.user!, params.data.id, 'original'));
  });

  app.get('/api/attachments/:id/thumbnail', { preHandler: requireUser }, async (req, reply) => {
    const params = attachmentIdParam.safeParse(req.params);
    if (!params.success) return sendError(req, reply, 404, 'There is no such file.');
    return sendDownload(reply, await files.download(req.user!, params.data.id, 'thumbnail'));
  });

  app.delete('/api/attachments/:id', { preHandler: requireUser }, async (req, reply) => {
    const params = attachmentIdParam.safeParse(req.params);
    if (!params.success) return sendError(req, reply, 404, 'There is no such upload.');
    await files.discard(req.user!, params.data.id);
    return reply.code(204).send();
  });

  // Storage used per person and per room (admins; /admin/* requires the admin role).
  app.get('/admin/api/storage', async (_req, reply) => {
    return reply.send(await s.attachments.usage());
  });
}
