// Browser notifications: asked for once, politely (a prompt in the sidebar, never on page load), and
// used for DMs and mentions while the tab is hidden or the conversation is not open.
import { useState } from 'preact/hooks';
import type { ChatMessage } from '@parley/protocol';
import type { Conversation } from '../store.ts';
import { displayName, isGroup } from '../store.ts';

const ASKED = 'parley.notifications.asked';

function supported(): boolean {
  return typeof window !== 'undefined' && 'Notification' in window;
}

function asked(): boolean {
  try {
    return localStorage.getItem(ASKED) === '1';
  } catch {
    return true;
  }
}

export function NotificationPrompt() {
  const [visible, setVisible] = useState(() => supported() && Notification.permission === 'default' && !asked());
  if (!visible) return null;
  const done = () => {
    try {
      localStorage.setItem(ASKED, '1');
    } catch {
      // ignore
    }
    setVisible(false);
  };
  return (
    <div class="notify-prompt" role="region" aria-label="Notifications">
      <p>Get a notification when someone messages you directly or mentions you?</p>
      <div class="row">
        <button type="button" class="small primary" onClick={() => void Notification.requestPermission().finally(done)}>Turn on</button>
        <button type="button" class="small" onClick={done}>Not now</button>
      </div>
    </div>
  );
}

export function showNotification(conv: Conversation, message: ChatMessage, open: (roomId: number) => void): void {
  if (!supported() || Notification.permission !== 'granted') return;
  const where = conv.kind === 'direct' && !isGroup(conv) ? message.author.displayName : `${message.author.displayName} in ${displayName(conv)}`;
  // A message of files alone says what it carries.
  const files = message.attachments?.length ? `📎 ${message.attachments.map((a) => a.name).join(', ')}` : '';
  const text = message.body.trim() ? message.body : files;
  const body = text.length > 140 ? `${text.slice(0, 139)}…` : text;
  const notification = new Notification(where, { body, tag: `parley-room-${conv.id}` });
  notification.onclick = () => {
    window.focus();
    open(conv.id);
    notification.close();
  };
}
