// The person's own account: profile, password, and their sessions (each revocable, which also closes
// that session's chat sockets on every replica).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminServices } from '../../app.ts';
import { clearSessionCookie, requireUser } from '../../plugins/session.ts';
import { displayNameSchema, fieldErrors, handleSchema, passwordSchema } from '../auth/routes.ts';
import { DuplicateUserError } from '../users/user-repository.ts';
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
    const flashKey = String((req.query as Record<string, unknown>).done ?? '');
    return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(
      profilePage({ user, csrfToken: reply.generateCsrf(), sessions, currentSessionId: req.session!.id, flash: FLASH[flashKey] ?? null, ...extra }),
    );
  }

  async function endSessions(req: FastifyRequest, ids: string[], reason: string) {
    await Promise.all(ids.map((id) => s.sessions.destroy(id)));
    // Close their chat sockets too; the sessions are gone already, so chat's refusal is the backstop.
    await Promise.all(ids.map((sessionId) => s.chat.kick({ sessionId }, reason, req.id).catch((err: Error) => req.log.warn({ err: err.message }, 'chat kick failed'))));
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
    const ok = await s.users.changePassword(req.user!.id, parsed.data.currentPassword, parsed.data.newPassword);
    if (!ok) return render(req, reply, { passwordErrors: { currentPassword: 'This is not your current password.' } }, 400);
    const others = (await s.sessions.listForUser(req.user!.id)).filter((x) => x.id !== req.session!.id).map((x) => x.id);
    await endSessions(req, others, 'password changed');
    req.log.info({ userId: req.user!.id, endedSessions: others.length }, 'password changed');
    return reply.redirect('/profile?done=password', 303);
  });

  app.post('/profile/sessions/revoke', { preHandler: requireUser }, async (req, reply) => {
    const id = String((req.body as Record<string, unknown> | undefined)?.session ?? '');
    // Only the person's own sessions: an id from someone else's list is "not found".
    const mine = (await s.sessions.listForUser(req.user!.id)).find((x) => x.id === id);
    if (!mine) return render(req, reply, { flash: 'That session has already ended.' }, 404);
    await endSessions(req, [mine.id], 'signed out from another device');
    req.log.info({ userId: req.user!.id, current: mine.id === req.session!.id }, 'session revoked by its owner');
    if (mine.id === req.session!.id) {
      clearSessionCookie(reply);
      return reply.redirect('/login', 303);
    }
    return reply.redirect('/profile?done=revoked', 303);
  });

  app.post('/profile/sessions/revoke-others', { preHandler: requireUser }, async (req, reply) => {
    const others = (await s.sessions.listForUser(req.user!.id)).filter((x) => x.id !== req.session!.id).map((x) => x.id);
    await endSessions(req, others, 'signed out from another device');
    return reply.redirect('/profile?done=revoked-others', 303);
  });
}
