// The room page: renders the chat with DOM APIs only (textContent, never innerHTML), so message
// bodies and names can never become markup.
import type { ChatMessage, ServerFrame, UserRef } from '@parley/protocol';
import { ChatClient, type ChatClientEvents, type ConnectionState } from './chat-client.ts';

const root = document.getElementById('room') as HTMLElement;
const roomId = Number(root.dataset.roomId);
const myId = Number(root.dataset.userId);
const list = document.getElementById('messages') as HTMLOListElement;
const stateEl = document.getElementById('conn-state') as HTMLElement;
const form = document.getElementById('composer') as HTMLFormElement;
const input = document.getElementById('message-input') as HTMLTextAreaElement;
const composerError = document.getElementById('composer-error') as HTMLElement;
const presenceEl = document.getElementById('presence') as HTMLUListElement;
const typingEl = document.getElementById('typing') as HTMLElement;
const olderBtn = document.getElementById('load-older') as HTMLButtonElement;
const noticeEl = document.getElementById('moderation-notice') as HTMLElement;
const sendBtn = form.querySelector('button[type=submit]') as HTMLButtonElement;
const role = root.dataset.role ?? 'user';
const isStaff = role === 'admin' || role === 'moderator';
let archived = root.dataset.archived === 'true';
let removed = false;
const csrfToken = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const typingUsers = new Map<number, { user: UserRef; until: number }>();

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderMessage(message: ChatMessage): HTMLLIElement {
  const li = el('li', 'message');
  li.dataset.seq = String(message.seq);
  li.dataset.clientId = message.clientId;
  fillMessage(li, message);
  return li;
}

function fillMessage(li: HTMLLIElement, message: ChatMessage): void {
  li.replaceChildren();
  li.classList.toggle('deleted', Boolean(message.deletedAt));
  li.classList.toggle('mine', message.author.id === myId);
  const meta = el('div', 'meta');
  const author = el('span', 'author', message.author.displayName);
  author.title = `@${message.author.handle}`;
  const time = el('time', 'time', timeFormat.format(new Date(message.createdAt)));
  time.dateTime = message.createdAt;
  meta.append(author, time);
  if (message.editedAt && !message.deletedAt) meta.append(el('span', 'edited', '(edited)'));
  const body = el('div', 'body', message.deletedAt ? 'This message was deleted.' : message.body);
  li.append(meta, body);
  if (message.deletedAt) return;
  const mine = message.author.id === myId;
  if (!mine && !isStaff) return;
  const actions = el('div', 'actions');
  if (mine) {
    const edit = el('button', 'link small', 'Edit');
    edit.type = 'button';
    edit.addEventListener('click', () => startEdit(li, message));
    actions.append(edit);
  }
  const del = el('button', 'link small danger', 'Delete');
  del.type = 'button';
  del.setAttribute('aria-label', mine ? 'Delete your message' : `Delete message by ${message.author.displayName}`);
  del.addEventListener('click', () => {
    if (!confirm(mine ? 'Delete this message?' : `Delete this message by ${message.author.displayName} for everyone?`)) return;
    // Own messages go over the socket; moderation goes through the panel, which audits it.
    if (mine) client.remove(message.seq);
    else void staffAction('/admin/api/messages/delete', { room: roomId, seq: message.seq }, 'The message was not deleted');
  });
  actions.append(del);
  if (!mine) {
    const mute = el('button', 'link small', 'Mute 15 min');
    mute.type = 'button';
    mute.setAttribute('aria-label', `Mute ${message.author.displayName} in this room for 15 minutes`);
    mute.addEventListener('click', () => {
      if (confirm(`Mute ${message.author.displayName} in this room for 15 minutes?`)) {
        void staffAction('/admin/api/mute', { room: roomId, userId: message.author.id, minutes: 15 }, 'The mute did not work').then((ok) => {
          if (ok) showNotice(`${message.author.displayName} is muted here for 15 minutes.`);
        });
      }
    });
    actions.append(mute);
  }
  li.append(actions);
}

async function staffAction(url: string, body: unknown, failure: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrfToken },
      body: JSON.stringify(body),
    });
    if (res.ok) return true;
    const detail = ((await res.json().catch(() => ({}))) as { error?: string }).error;
    composerError.textContent = `${failure}: ${detail ?? `HTTP ${res.status}`}.`;
  } catch {
    composerError.textContent = `${failure}: the server did not answer.`;
  }
  return false;
}

function showNotice(text: string | null): void {
  noticeEl.textContent = text ?? '';
  noticeEl.hidden = !text;
}

// ---- mutes: shown to the person, composer locked until the mute ends -------------------------
let muteTimer: ReturnType<typeof setTimeout> | null = null;
let mutedUntil: Date | null = null;
function applyMute(until: Date | null): void {
  if (muteTimer) clearTimeout(muteTimer);
  muteTimer = null;
  const active = until !== null && until.getTime() > Date.now();
  mutedUntil = active ? until : null;
  if (!archived && !removed && client.state !== 'revoked' && client.state !== 'signed-out') {
    input.disabled = active;
    sendBtn.disabled = active;
  }
  if (active) {
    const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }).format(until);
    showNotice(`A moderator muted you in this room until ${time}. You can still read along.`);
    input.placeholder = 'You are muted in this room';
    muteTimer = setTimeout(() => applyMute(null), Math.min(until.getTime() - Date.now(), 2 ** 31 - 1));
  } else {
    showNotice(archived ? 'This room is archived: it is read-only now.' : null);
    input.placeholder = archived ? 'This room is archived' : 'Message';
  }
}

function onModeration(frame: Extract<ServerFrame, { type: 'moderation' }>): void {
  if (frame.room !== null && frame.room !== roomId) return;
  if (frame.userId !== myId) return;
  if (frame.action === 'muted') applyMute(frame.until ? new Date(frame.until) : new Date(Date.now() + 365 * 86_400_000));
  else if (frame.action === 'unmuted') {
    applyMute(null);
    showNotice('A moderator unmuted you in this room.');
  }
}

/** The room was archived (read-only) or unarchived while this tab is open. */
function applyArchived(value: boolean): void {
  archived = value;
  if (removed || client.state === 'revoked' || client.state === 'signed-out') return;
  if (archived) {
    input.disabled = true;
    sendBtn.disabled = true;
    input.placeholder = 'This room is archived';
    showNotice('This room is archived: it is read-only now.');
  } else {
    applyMute(mutedUntil); // unlocks the composer unless a mute is still running
    if (!mutedUntil) showNotice('This room is open again.');
  }
}

/** An admin removed this person from the room: the client has stopped; nothing more arrives. */
function onRemoved(): void {
  removed = true;
  if (muteTimer) clearTimeout(muteTimer);
  muteTimer = null;
  input.disabled = true;
  sendBtn.disabled = true;
  input.placeholder = 'You are no longer a member of this room';
  stateEl.dataset.state = 'removed';
  stateEl.textContent = 'Removed';
  showNotice('You were removed from this room. You no longer receive its messages.');
  presenceEl.replaceChildren();
}

function startEdit(li: HTMLLIElement, message: ChatMessage): void {
  const editor = el('form', 'edit-form');
  const area = el('textarea');
  area.value = message.body;
  area.setAttribute('aria-label', 'Edit message');
  const save = el('button', 'primary small', 'Save');
  save.type = 'submit';
  const cancel = el('button', 'link small', 'Cancel');
  cancel.type = 'button';
  cancel.addEventListener('click', () => fillMessage(li, message));
  editor.addEventListener('submit', (e) => {
    e.preventDefault();
    if (area.value.trim()) client.edit(message.seq, area.value);
    fillMessage(li, message);
  });
  editor.append(area, save, cancel);
  li.querySelector('.body')?.replaceWith(editor);
  area.focus();
}

function insertInOrder(li: HTMLLIElement): void {
  const seq = Number(li.dataset.seq);
  const existing = list.querySelector<HTMLLIElement>(`li[data-seq="${seq}"]`);
  if (existing) return void existing.replaceWith(li);
  // Most messages append at the end; walk backwards to place older ones.
  let after: Element | null = list.lastElementChild;
  while (after && (after.classList.contains('pending') || Number((after as HTMLElement).dataset.seq) > seq)) after = after.previousElementSibling;
  if (after) after.after(li);
  else list.prepend(li);
}

function nearBottom(): boolean {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}

function updateOlderButton(): void {
  const first = list.querySelector<HTMLLIElement>('li[data-seq]');
  olderBtn.hidden = !first || Number(first.dataset.seq) <= 1;
}

const STATE_TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  revoked: 'Disconnected',
  'signed-out': 'Signed out',
};

const events: ChatClientEvents = {
  moderation: onModeration,
  archived: applyArchived,
  removed: onRemoved,
  state(state, detail) {
    stateEl.dataset.state = state;
    stateEl.textContent = detail.retryInMs !== undefined && state === 'reconnecting'
      ? `Reconnecting in ${Math.ceil(detail.retryInMs / 1000)} s…`
      : STATE_TEXT[state];
    if (state === 'revoked' || state === 'signed-out') {
      input.disabled = true;
      sendBtn.disabled = true;
      composerError.textContent = `${detail.reason ?? 'Disconnected.'} `;
      const link = el('a', undefined, 'Log in again');
      link.href = `/login?next=${encodeURIComponent(location.pathname)}`;
      composerError.append(link);
    }
  },
  joined() {},
  message(message) {
    const stick = nearBottom();
    list.querySelector(`li.pending[data-client-id="${CSS.escape(message.clientId)}"]`)?.remove();
    insertInOrder(renderMessage(message));
    typingUsers.delete(message.author.id);
    renderTyping();
    if (stick || message.author.id === myId) list.scrollTop = list.scrollHeight;
    updateOlderButton();
  },
  caughtUp() {
    list.scrollTop = list.scrollHeight;
    updateOlderButton();
  },
  updated(message) {
    const li = list.querySelector<HTMLLIElement>(`li[data-seq="${message.seq}"]`);
    if (li) fillMessage(li, message);
  },
  history(messages, hasMore) {
    const height = list.scrollHeight;
    for (const message of messages) insertInOrder(renderMessage(message));
    list.scrollTop += list.scrollHeight - height;
    updateOlderButton();
    if (!hasMore) olderBtn.hidden = true;
  },
  ack(clientId) {
    list.querySelector(`li.pending[data-client-id="${CSS.escape(clientId)}"]`)?.classList.add('acked');
  },
  presence(users, count) {
    const items = users.map((u) => {
      const li = el('li', u.id === myId ? 'me' : undefined, u.displayName);
      li.title = `@${u.handle}`;
      return li;
    });
    // Big rooms: the server lists the first users only.
    if (count > users.length) items.push(el('li', 'more', `and ${count - users.length} more`));
    presenceEl.replaceChildren(...items);
  },
  typing(user) {
    if (user.id === myId) return;
    typingUsers.set(user.id, { user, until: Date.now() + 4_000 });
    renderTyping();
  },
  error(code, message, ref) {
    composerError.textContent = message;
    if (ref) list.querySelector(`li.pending[data-client-id="${CSS.escape(ref)}"]`)?.classList.add('failed');
    if (code === 'too_large' || code === 'rate_limited' || code === 'muted') input.setAttribute('aria-invalid', 'true');
  },
};

const client = new ChatClient(roomId, root.dataset.chatUrl ?? '', events);

function renderTyping(): void {
  const now = Date.now();
  for (const [id, t] of typingUsers) if (t.until < now) typingUsers.delete(id);
  const names = [...typingUsers.values()].map((t) => t.user.displayName);
  typingEl.textContent = names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…` : `${names.join(', ')} are typing…`;
}
setInterval(renderTyping, 1_000);

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const body = input.value;
  if (!body.trim()) return;
  composerError.textContent = '';
  input.removeAttribute('aria-invalid');
  const clientId = client.send(body);
  // Shown at once as pending; replaced by the stored message (with its seq) when it arrives.
  const li = el('li', 'message mine pending');
  li.dataset.clientId = clientId;
  li.append(el('div', 'meta', 'Sending…'), el('div', 'body', body));
  list.append(li);
  list.scrollTop = list.scrollHeight;
  input.value = '';
  input.focus();
});

input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});
input.addEventListener('input', () => client.typing());
olderBtn.addEventListener('click', () => {
  const first = list.querySelector<HTMLLIElement>('li[data-seq]');
  if (first) client.loadOlder(Number(first.dataset.seq));
});

client.start();
if (root.dataset.mutedUntil) applyMute(new Date(root.dataset.mutedUntil));
(window as unknown as { parleyChat: ChatClient }).parleyChat = client;
