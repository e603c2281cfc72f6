// The test sockets a spec file opens, so they are all closed before its services stop.
import type { Stack } from '@parley/devtools';
import { chatTokenFor, type ChatTestUser } from '../../packages/devtools/src/chat-fixtures.ts';
import { TestSocket } from './ws-client.ts';

export class SocketJar {
  private readonly sockets: TestSocket[] = [];

  constructor(private readonly stack: Stack) {}

  /** A socket for `user` (made with createChatUser) on chat replica `replica`, its `hello` received. */
  async open(user: ChatTestUser, opts: { replica?: number; sessionId?: string; protocol?: 'parley.v1' | 'parley.v2' } = {}): Promise<TestSocket> {
    const chat = this.stack.chats[opts.replica ?? 0]!;
    const sock = this.keep(await TestSocket.open(chat.wsUrl, chatTokenFor(user, this.stack.secrets.CHAT_TOKEN_SECRET, opts.sessionId), { protocol: opts.protocol }));
    await sock.next('hello');
    return sock;
  }

  /** Close this socket with the others (one the test opened some other way). */
  keep(sock: TestSocket): TestSocket {
    this.sockets.push(sock);
    return sock;
  }

  closeAll(): void {
    for (const sock of this.sockets.splice(0)) sock.close();
  }
}
