// The admin panel: users, rooms, moderation, audit log, dashboard. Who may call what is declared per
// route (`config.roles`, see http.ts) and enforced by one onRequest hook in app.ts before CSRF and body
// parsing; any /admin route without a declaration is admin-only. Routes parse input and render; the
// services hold the rules and commit each change with its audit entry and control events.
import type { FastifyInstance } from 'fastify';
import type { AdminServices } from '../../app.ts';
import { collectDashboard } from '../dashboard/stats.ts';
import { ADMIN, STAFF, page } from './http.ts';
import { userAdminRoutes } from './user-routes.ts';
import { roomAdminRoutes } from './room-routes.ts';
import { moderationRoutes } from './moderation-routes.ts';
import { auditRoutes } from './audit-routes.ts';
import { dashboardPage, storagePage } from './views.ts';

export async function adminRoutes(app: FastifyInstance, s: AdminServices) {
  app.get('/admin', STAFF, async (req, reply) => reply.redirect(req.user!.role === 'admin' ? '/admin/users' : '/admin/moderation'));

  await userAdminRoutes(app, s);
  await roomAdminRoutes(app, s);
  await moderationRoutes(app, s);
  await auditRoutes(app, s);

  app.get('/admin/dashboard', STAFF, async (req, reply) => {
    return page(reply, dashboardPage({ user: req.user!, csrfToken: reply.generateCsrf(), data: await collectDashboard(s, req.id) }));
  });

  app.get('/admin/storage', ADMIN, async (req, reply) => {
    return page(reply, storagePage({ user: req.user!, csrfToken: reply.generateCsrf(), ...(await s.attachments.usage()) }));
  });

  app.get('/admin/api/dashboard', { ...STAFF, logLevel: 'warn' }, async (req, reply) => {
    return reply.header('cache-control', 'no-store').send(await collectDashboard(s, req.id));
  });
}
