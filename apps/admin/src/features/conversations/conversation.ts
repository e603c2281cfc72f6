// One entry of the sidebar, as the API sends it. Its own module, free of server imports, because the
// browser client imports it too (tsconfig.browser.json checks it without Node types).
export interface Conversation {
  id: number;
  kind: 'public' | 'private' | 'direct';
  name: string;
  topic: string;
  archived: boolean;
  lastSeq: number;
  lastReadSeq: number;
  /** Unread messages by other people (deleted ones not counted). */
  unread: number;
  /** Seqs of unread messages that mention you (@handle, @room written by a moderator or admin, or a reply to your message), oldest first. */
  mentionSeqs: number[];
  /** When the latest message was written (null: no messages yet). */
  lastActivityAt: string | null;
  notificationsMuted: boolean;
  /** Closed from the sidebar while the last message was this seq (shown again once lastSeq passes it); null: shown. */
  hiddenThroughSeq: number | null;
  /** Direct messages: the other person (group conversations: the first of them by id). */
  peer: { id: number; handle: string; displayName: string } | null;
  /** Direct messages: everyone else in it, by id. Empty for rooms. */
  peers: Array<{ id: number; handle: string; displayName: string }>;
  /** A group conversation (opened by 3 to 8 people; still one after people left, so it can be left). */
  group?: boolean;
}
