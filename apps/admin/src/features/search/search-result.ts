// What GET /api/search answers: types only, shared by the repository and the browser client (which must
// not import the repository: it pulls in pg and Node's types).
export interface SearchHit {
  roomId: number;
  /** The room's name; null for direct conversations (the client names them from its list). */
  roomName: string | null;
  roomKind: 'public' | 'private' | 'direct';
  seq: number;
  createdAt: string;
  author: { id: number; handle: string; displayName: string };
  /** Plain text: never HTML. */
  excerpt: string;
  /** [start, end) UTF-16 offsets into `excerpt` of the matched words. */
  highlights: Array<[number, number]>;
}

export interface SearchPage {
  hits: SearchHit[];
  /** Pass as `before` for the next (older) page; null: no more. */
  nextCursor: string | null;
}
