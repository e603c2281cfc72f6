// Drafts per conversation, kept in localStorage so a reload (or a crash) never loses what was typed.
const key = (userId: number, roomId: number) => `parley.draft.${userId}.${roomId}`;

export function loadDraft(userId: number, roomId: number): string {
  try {
    return localStorage.getItem(key(userId, roomId)) ?? '';
  } catch {
    return '';
  }
}

export function saveDraft(userId: number, roomId: number, text: string): void {
  try {
    if (text) localStorage.setItem(key(userId, roomId), text);
    else localStorage.removeItem(key(userId, roomId));
  } catch {
    // storage full or disabled: the draft lives as long as the page
  }
}
