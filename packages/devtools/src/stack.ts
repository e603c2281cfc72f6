// Starts the built services as real processes (admin + N chat replicas) on free ports, for end-to-end
// tests and benchmarks. Requires `npm run build` first (npm test does it).
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { spawnService, type ServiceProcess } from './service.ts';
import { randomServiceSecrets } from './secrets-file.ts';
import { serviceEnv, type Deployment, type ServiceSecrets } from './service-env.ts';
import { freePort, waitForHttp } from './wait.ts';

const DEFAULT_ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../..');

export interface StackOptions {
  /** The repository root (default: found from this file; bundled callers pass it). */
  root?: string;
  databaseUrl: string;
  redisUrl?: string;
  redisPrefix?: string;
  chatReplicas?: number;
  /** Start admin (default true). */
  admin?: boolean;
  adminEnv?: Record<string, string>;
  chatEnv?: Record<string, string>;
  /** Which chat replica the browser is told to use (default 0). */
  browserChatReplica?: number;
  /**
   * More admin processes (same database, Redis and secrets), each on its own port and telling browsers
   * to use its own chat replica: people who open the panel at `extraAdmins[i].url` sit on that replica.
   * Started after the main admin (which runs the bootstrap).
   */
  extraAdmins?: ExtraAdminOptions[];
  echo?: (line: string) => void;
  /** Run the services with this Node binary instead of the test runner's (e.g. Node 24). */
  nodePath?: string;
}

export interface ExtraAdminOptions {
  /** Which chat replica this admin's pages connect to (default 0). */
  browserChatReplica?: number;
  /** Environment on top of the main admin's (`adminEnv`). */
  env?: Record<string, string>;
}

export interface AdminProcess {
  url: string;
  port: number;
  process: ServiceProcess;
  browserChatReplica: number;
}

export interface ChatReplica {
  index: number;
  port: number;
  url: string;
  wsUrl: string;
  process: ServiceProcess;
}

export interface Stack {
  adminUrl: string;
  adminPort: number;
  admin: ServiceProcess | null;
  /** The admins started for `extraAdmins`, in the same order. */
  extraAdmins: AdminProcess[];
  chats: ChatReplica[];
  secrets: ServiceSecrets;
  /** Start (or restart) chat replica `index` on its port. */
  startChat(index: number): Promise<ChatReplica>;
  stop(): Promise<void>;
  logs(): string;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const ROOT = opts.root ?? DEFAULT_ROOT;
  for (const f of ['apps/admin/dist/main.js', 'apps/chat/dist/main.js']) {
    if (!existsSync(resolve(ROOT, f))) throw new Error(`${f} is missing: run npm run build first`);
  }
  const secrets = randomServiceSecrets();
  const n = opts.chatReplicas ?? 1;
  const adminPort = await freePort();
  const chatPorts: number[] = [];
  for (let i = 0; i < n; i++) chatPorts.push(await freePort());
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const extraAdminPorts: number[] = [];
  for (const extra of opts.extraAdmins ?? []) {
    if ((extra.browserChatReplica ?? 0) >= n) throw new Error(`extraAdmins: there is no chat replica ${extra.browserChatReplica}`);
    extraAdminPorts.push(await freePort());
  }
  if (opts.admin === false && extraAdminPorts.length) throw new Error('extraAdmins needs the main admin (admin: false was given)');
  const deployment: Deployment = {
    nodeEnv: 'test',
    logLevel: process.env.PARLEY_TEST_LOG_LEVEL ?? 'info',
    databaseUrl: opts.databaseUrl,
    redisUrl: opts.redisUrl,
    redisPrefix: opts.redisPrefix,
    publicUrl: adminUrl,
    secrets,
    host: '127.0.0.1',
  };
  const chats: ChatReplica[] = [];
  const startChat = async (index: number): Promise<ChatReplica> => {
    const port = chatPorts[index]!;
    const proc = spawnService(`chat-${index}`, resolve(ROOT, 'apps/chat/dist/main.js'), {
      ...serviceEnv(deployment, {
        service: 'chat',
        port,
        replicaId: `chat-${index}`,
        allowedOrigins: [adminPort, ...extraAdminPorts].flatMap((p) => [`http://localhost:${p}`, `http://127.0.0.1:${p}`]),
        drainDelayMs: 200,
      }),
      ...opts.chatEnv,
    }, { echo: opts.echo, nodePath: opts.nodePath });
    const replica = { index, port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/socket`, process: proc };
    chats[index] = replica;
    await waitForHttp(`${replica.url}/readyz`, { timeoutMs: 30_000 });
    return replica;
  };
  const browserChat = chatPorts[opts.browserChatReplica ?? 0]!;
  let admin: ServiceProcess | null = null;
  const spawnAdmin = (name: string, port: number, chatPort: number, env: Record<string, string> = {}) =>
    spawnService(name, resolve(ROOT, 'apps/admin/dist/main.js'), {
      ...serviceEnv(deployment, {
        service: 'admin',
        port,
        publicUrl: `http://127.0.0.1:${port}`,
        chatInternalUrl: `http://127.0.0.1:${chatPorts[0]}`,
        chatPublicUrl: `ws://127.0.0.1:${chatPort}/socket`,
      }),
      // Every test client is 127.0.0.1: per-IP budgets sized for one person would trip over each
      // other. Specs that test the limits set their own (adminEnv wins).
      SIGNUP_RATE_PER_IP: '1000',
      LOGIN_RATE_PER_IP: '1000',
      ...opts.adminEnv,
      ...env,
    }, { echo: opts.echo, nodePath: opts.nodePath });
  if (opts.admin !== false) admin = spawnAdmin('admin', adminPort, browserChat);
  const extraAdmins: AdminProcess[] = [];
  const stack: Stack = {
    adminUrl,
    adminPort,
    admin,
    extraAdmins,
    chats,
    secrets,
    startChat,
    async stop() {
      await Promise.all([...chats.map((c) => c?.process.stop('SIGTERM', 10_000)), admin?.stop('SIGTERM', 10_000), ...extraAdmins.map((a) => a.process.stop('SIGTERM', 10_000))]);
    },
    logs() {
      return [admin, ...extraAdmins.map((a) => a.process), ...chats.map((c) => c?.process)].filter(Boolean).map((p) => `--- ${p!.name}\n${p!.output.slice(-200).join('\n')}`).join('\n');
    },
  };
  try {
    await Promise.all([...chatPorts.map((_, i) => startChat(i)), admin ? waitForHttp(`${adminUrl}/readyz`, { timeoutMs: 30_000 }) : null]);
    // After the main admin is ready: it has migrated and bootstrapped, so these only serve.
    (opts.extraAdmins ?? []).forEach((extra, i) => {
      const port = extraAdminPorts[i]!;
      const replica = extra.browserChatReplica ?? 0;
      extraAdmins.push({ url: `http://127.0.0.1:${port}`, port, browserChatReplica: replica, process: spawnAdmin(`admin-${i + 1}`, port, chatPorts[replica]!, extra.env) });
    });
    await Promise.all(extraAdmins.map((a) => waitForHttp(`${a.url}/readyz`, { timeoutMs: 30_000 })));
  } catch (err) {
    const logs = stack.logs();
    await stack.stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
  return stack;
}
