// The person's own account: profile, password, and their sessions (each revocable, which also closes
// that session's chat sockets on every replica: AccountService records a session_revoked event).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import { clearSessionCookie, requireUser } from '../../plugins/session.ts';
import { displayNameSchema, fieldErrors, handleSchema, passwordSchema } from '../auth/routes.ts';
import { DuplicateUserError } from '../users/user-repository.ts';
import { actorOf } from '../audit/audit-repository.ts';
import { Refusal } from '../refusal.ts';
import { profilePage, type ProfileViewOptions } from './views.ts';

const profileSchema = z.object({ handle: handleSchema, displayName: displayNameSchema });
const passwordFormSchema = z
  .object({ currentPassword: z.string().min(1, 'Enter your current password.'), newPassword: passwordSchema, confirmPassword: z.string() })
  .refine((v) => v.newPassword === v.confirmPassword, { path: ['confirmPassword'], message: 'The two new passwords differ.' });

const FLASH: Record<string, string> = {
  profile: 'Profile saved.',
  password: 'Password changed. Your other sessions were signed out.',
  revoked: 'That session was signed out.',
  'revoked-others': 'All your other sessions were signed out.',
};

export async function profileRoutes(app: FastifyInstance, s: AdminServices) {
  async function render(req: FastifyRequest, reply: FastifyReply, extra: Partial<ProfileViewOptions> = {}, status = 200) {
    const user = req.user!;
    const sessions = await s.sessions.listForUser(user.id);
    const done = (req.query as Record<string, unknown>).done;
    const flashKey = typeof done === 'string' ? done : '';
    return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(
      profilePage({ user, csrfToken: reply.generateCsrf(), sessions, currentSessionId: req.session!.id, flash: FLASH[flashKey] ?? null, ...extra }),
    );
  }

  app.get('/profile', { preHandler: requireUser }, async (req, reply) => render(req, reply));

  app.post('/profile', { preHandler: requireUser }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string>;
    const values = { handle: String(body.handle ?? ''), displayName: String(body.displayName ?? '') };
    const parsed = profileSchema.safeParse(body);
    if (!parsed.success) return render(req, reply, { profileValues: values, profileErrors: fieldErrors(parsed.error) }, 400);
    try {
      await s.users.updateProfile(req.user!.id, parsed.data);
    } catch (err) {
      if (err instanceof DuplicateUserError) return render(req, reply, { profileValues: values, profileErrors: { handle: 'This handle is taken.' } }, 409);
      throw err;
    }
    return reply.redirect('/profile?done=profile', 303);
  });

  app.post('/profile/password', { preHandler: requireUser }, async (req, reply) => {
    const parsed = passwordFormSchema.safeParse(req.body ?? {});
    if (!parsed.success) return render(req, reply, { passwordErrors: fieldErrors(parsed.error) }, 400);
    const { changed, sessionsEnded } = await s.account.changePassword(actorOf(req), req.user!.id, req.session!.id, parsed.data.currentPassword, parsed.data.newPassword);
    if (!changed) return render(req, reply, { passwordErrors: { currentPassword: 'This is not your current password.' } }, 400);
    req.log.info({ userId: req.user!.id, endedSessions: sessionsEnded }, 'password changed');
    return reply.redirect('/profile?done=password', 303);
  });

  app.post('/profile/sessions/revoke', { preHandler: requireUser }, async (req, reply) => {
    const session = (req.body as Record<string, unknown> | undefined)?.session;
    const id = typeof session === 'string' ? session : '';
    // Only the person's own sessions: an id from someone else's list is "not found".
    try {
      await s.account.revokeSession(actorOf(req), req.user!.id, id);
    } catch (err) {
      if (err instanceof Refusal) return render(req, reply, { flash: err.message }, err.statusCode);
      throw err;
    }
    req.log.info({ userId: req.user!.id, current: id === req.session!.id }, 'session revoked by its owner');
    if (id === req.session!.id) {
      clearSessionCookie(reply);
      return reply.redirect('/login', 303);
    }
    return reply.redirect('/profile?done=revoked', 303);
  });

  app.post('/profile/sessions/revoke-others', { preHandler: requireUser }, async (req, reply) => {
    await s.account.revokeOtherSessions(actorOf(req), req.user!.id, req.session!.id);
    return reply.redirect('/profile?done=revoked-others', 303);
  });
}
