// One room's presence as a diff-applying client sees it: a `presence` frame replaces the state, a
// `presence_diff` changes it. Without `joined`/`left` a diff keeps only the count (a big room): the list
// is then not maintained (`listed` false) and is fetched in pages (`presence_list`) when it is shown.
import type { ServerFrame, UserRef } from '@parley/protocol';

type PresenceFrame = Extract<ServerFrame, { type: 'presence' | 'presence_diff' }>;

const collator = new Intl.Collator();

export class PresenceView {
  private readonly users = new Map<number, UserRef>();
  count = 0;
  /** The list holds everyone online (false: only the count is current). */
  listed = true;

  apply(frame: PresenceFrame): void {
    if (frame.type === 'presence') {
      this.users.clear();
      for (const u of frame.users) this.users.set(u.id, u);
      this.count = Math.max(frame.count ?? 0, frame.users.length);
      this.listed = this.count <= frame.users.length;
      return;
    }
    this.count = frame.count;
    if (!frame.joined || !frame.left) {
      this.users.clear();
      this.listed = false;
      return;
    }
    for (const id of frame.left) this.users.delete(id);
    for (const u of frame.joined) this.users.set(u.id, u);
  }

  reset(): void {
    this.users.clear();
    this.count = 0;
    this.listed = true;
  }

  /** The users known, by handle (everyone when `listed`). */
  list(): UserRef[] {
    return [...this.users.values()].sort((a, b) => collator.compare(a.handle, b.handle));
  }
}
