// /admin/audit: the audit log, filterable by who, action, target and time.
import type { FastifyInstance } from 'fastify';
import type { AdminServices } from '../../app.ts';
import { ADMIN, PAGE_SIZE, page, pageNum, str } from './http.ts';
import { auditPage } from './views.ts';

export async function auditRoutes(app: FastifyInstance, s: AdminServices) {
  app.get('/admin/audit', ADMIN, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const filter = { actor: str(q.actor, 40), action: str(q.action, 60), targetType: str(q.targetType, 20), targetId: str(q.targetId, 40), since: str(q.since, 4) };
    const sinceMs = { '1h': 3600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 }[filter.since];
    const current = pageNum(q.page);
    const { entries, total } = await s.audit.list(
      { actor: filter.actor || undefined, action: filter.action || undefined, targetType: filter.targetType || undefined, targetId: filter.targetId || undefined, since: sinceMs ? new Date(Date.now() - sinceMs) : undefined },
      PAGE_SIZE, (current - 1) * PAGE_SIZE,
    );
    const clean = Object.fromEntries(Object.entries(filter).filter(([, v]) => v));
    return page(reply, auditPage({ user: req.user!, csrfToken: reply.generateCsrf(), entries, total, page: current, pageSize: PAGE_SIZE, filter: clean, actions: await s.audit.actions() }));
  });
}
