// The room page: renders the chat with DOM APIs only (textContent, never innerHTML), so message
// bodies and names can never become markup.
import type { ChatMessage, UserRef } from '@parley/protocol';
import { ChatClient, type ConnectionState } from './chat-client.ts';

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
  if (message.author.id === myId && !message.deletedAt) {
    const actions = el('div', 'actions');
    const edit = el('button', 'link small', 'Edit');
    edit.type = 'button';
    edit.addEventListener('click', () => startEdit(li, message));
    const del = el('button', 'link small danger', 'Delete');
    del.type = 'button';
    del.addEventListener('click', () => {
      if (confirm('Delete this message?')) client.remove(message.seq);
    });
    actions.append(edit, del);
    li.append(actions);
  }
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

const client = new ChatClient(roomId, root.dataset.chatUrl ?? '', {
  state(state, detail) {
    stateEl.dataset.state = state;
    stateEl.textContent = detail.retryInMs !== undefined && state === 'reconnecting'
      ? `Reconnecting in ${Math.ceil(detail.retryInMs / 1000)} s…`
      : STATE_TEXT[state];
    if (state === 'revoked' || state === 'signed-out') {
      input.disabled = true;
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
  presence(users) {
    presenceEl.replaceChildren(...users.map((u) => {
      const li = el('li', u.id === myId ? 'me' : undefined, u.displayName);
      li.title = `@${u.handle}`;
      return li;
    }));
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
});

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
(window as unknown as { parleyChat: ChatClient }).parleyChat = client;
