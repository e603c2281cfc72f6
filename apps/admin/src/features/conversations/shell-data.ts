// What the chat page embeds so its first render needs no extra request: the sidebar's conversations
// and, for the conversation it opens, the members (@-completion, the members list of private rooms).
import type { Pool } from '@parley/db';
import { ConversationRepository, type Conversation } from './conversation-repository.ts';

export interface ChatShellData {
  conversations: Conversation[];
  members: Array<{ id: number; handle: string; displayName: string }> | null;
  /** Users whose @room is a mention (moderators and admins). */
  roomMentioners: number[];
}

export async function chatShellData(pool: Pool, user: { id: number; handle: string }, roomId: number | null): Promise<ChatShellData> {
  const repo = new ConversationRepository(pool);
  const [conversations, members, roomMentioners] = await Promise.all([
    repo.list(user),
    roomId === null ? null : repo.mentionable(roomId, user.id),
    repo.roomMentioners(),
  ]);
  return { conversations, members, roomMentioners };
}
