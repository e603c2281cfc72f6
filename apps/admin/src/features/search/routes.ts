// GET /api/search?q=…&before=<cursor>: one page of the signed-in person's search results (JSON).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import { requireUser } from '../../plugins/session.ts';
import { sendError } from '../../plugins/errors.ts';
import { parseSearchQuery } from './search-query.ts';
import { decodeCursor, SearchRepository } from './search-repository.ts';

const searchParams = z.object({
  q: z.string().max(500),
  before: z.string().max(200).optional(),
});

export async function searchRoutes(app: FastifyInstance, s: AdminServices) {
  const search = new SearchRepository(s.pool);

  app.get('/api/search', { preHandler: requireUser }, async (req, reply) => {
    const params = searchParams.safeParse(req.query);
    if (!params.success) return sendError(req, reply, 400, 'Send q (at most 500 characters) and optionally before (a cursor from a previous page).');
    const before = params.data.before ? decodeCursor(params.data.before) : null;
    if (params.data.before && !before) return sendError(req, reply, 400, 'That cursor is not one this server gave out.');
    const page = await search.search(req.user!.id, parseSearchQuery(params.data.q), { before });
    return reply.header('cache-control', 'no-store').send(page);
  });
}
