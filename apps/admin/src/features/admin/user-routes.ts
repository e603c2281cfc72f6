// /admin/users: list and search people; change role and status; sign someone out everywhere. The
// forms carry the list's search, filters and page (`back`) so the list comes back as it was.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import type { Role } from '../users/user-repository.ts';
import { actorOf } from '../audit/audit-repository.ts';
import { sendError } from '../../plugins/errors.ts';
import { ADMIN, PAGE_SIZE, STAFF, back, bodyOf, flashOf, idParam, page, pageNum, str, usersListReturn } from './http.ts';
import { usersPage } from './views.ts';

export async function userAdminRoutes(app: FastifyInstance, s: AdminServices) {
  app.get('/admin/users', STAFF, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const role = ['user', 'moderator', 'admin'].includes(str(q.role)) ? (str(q.role) as Role) : undefined;
    const status = ['active', 'deactivated', 'banned'].includes(str(q.status)) ? (str(q.status) as 'active') : undefined;
    const current = pageNum(q.page);
    const { users, total } = await s.users.search({ q: str(q.q, 100), role, status, limit: PAGE_SIZE, offset: (current - 1) * PAGE_SIZE });
    return page(reply, usersPage({
      user: req.user!, csrfToken: reply.generateCsrf(), flash: flashOf(req),
      users, total, page: current, pageSize: PAGE_SIZE, q: str(q.q, 100), role: role ?? '', status: status ?? '', selfId: req.user!.id,
    }));
  });

  app.post('/admin/users/:id/role', ADMIN, async (req, reply) => {
    const params = idParam.safeParse(req.params);
    const role = z.enum(['user', 'moderator', 'admin']).safeParse(bodyOf(req).role);
    if (!params.success || !role.success) return sendError(req, reply, 400, 'Choose user, moderator or admin.');
    await s.userAdmin.changeRole(actorOf(req), params.data.id, role.data);
    return back(reply, usersListReturn(bodyOf(req).back), 'role');
  });

  app.post('/admin/users/:id/status', ADMIN, async (req, reply) => {
    const params = idParam.safeParse(req.params);
    const status = z.enum(['active', 'deactivated', 'banned']).safeParse(bodyOf(req).status);
    if (!params.success || !status.success) return sendError(req, reply, 400, 'Choose active, deactivated or banned.');
    await s.userAdmin.setStatus(actorOf(req), params.data.id, status.data);
    return back(reply, usersListReturn(bodyOf(req).back), status.data);
  });

  app.post('/admin/users/:id/sessions/revoke', ADMIN, async (req, reply) => {
    const params = idParam.safeParse(req.params);
    if (!params.success) return sendError(req, reply, 404, 'No such user.');
    await s.userAdmin.signOutEverywhere(actorOf(req), params.data.id);
    return back(reply, usersListReturn(bodyOf(req).back), 'signedout');
  });
}
