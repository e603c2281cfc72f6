// One open conversation: header (title, connection state, details toggle), notices (muted, archived,
// removed), the message list, who is typing, and the composer (first in the focus order).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ChatMessage } from '@parley/protocol';
import type { ChatStore, RoomState } from '../store.ts';
import { displayName, groupNames, isGroup } from '../store.ts';
import { Composer } from './composer.tsx';
import { MessageList, type MessageActions } from './message-list.tsx';
import { plural } from './format.ts';
import { Icon } from './icons.tsx';
import { filesOf } from './uploads.ts';
import { csrfToken } from '../csrf.ts';

/** What each connection state says to people (data-state keeps the machine value). */
export const STATE_TEXT: Record<string, string> = {
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  revoked: 'Disconnected',
  'signed-out': 'Signed out',
};

interface Props {
  store: ChatStore;
  room: RoomState;
  renderBody: (body: string, roomMentionsMe?: boolean) => string;
  detailsOpen: boolean;
  onToggleDetails: () => void;
}

async function staffAction(url: string, body: unknown): Promise<string | null> {
  const csrf = csrfToken();
  try {
    const res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    });
    if (res.ok) return null;
    return ((await res.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${res.status}`;
  } catch {
    return 'the server did not answer';
  }
}

export function ConversationView({ store, room, renderBody, detailsOpen, onToggleDetails }: Props) {
  const roomId = room.conv.id;
  const inputRef = useRef<HTMLTextAreaElement | null>(null);
  const [editingSeq, setEditingSeq] = useState<number | null>(null);
  const [pickerSeq, setPickerSeq] = useState<number | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // The first unread message when the conversation was opened: where "New messages" goes.
  const [dividerSeq] = useState(() => (room.conv.unread > 0 && room.conv.lastReadSeq < room.conv.lastSeq ? room.conv.lastReadSeq + 1 : null));
  const [, tick] = useState(0);
  const [dropping, setDropping] = useState(false);

  // A mute ends by itself: re-render then (and every second for the typing line).
  useEffect(() => {
    const timer = setInterval(() => {
      const now = Date.now();
      let changed = false;
      for (const [id, t] of room.typing) if (t.until < now) {
        room.typing.delete(id);
        changed = true;
      }
      if (room.mutedUntil && room.mutedUntil.getTime() <= now) {
        room.mutedUntil = null;
        room.notice = null;
        changed = true;
      }
      if (changed) tick((n) => n + 1);
    }, 1_000);
    return () => clearInterval(timer);
  }, [room]);

  useEffect(() => {
    void store.loadMembers(roomId); // fresh members and this person's mute, even when the page embedded them
    inputRef.current?.focus();
  }, [roomId]);

  const focusComposer = useCallback(() => inputRef.current?.focus(), []);

  const ended = store.state === 'revoked' || store.state === 'signed-out';
  const actions: MessageActions = {
    canModerate: store.me.role === 'admin' || store.me.role === 'moderator',
    canWrite: !room.removed && !ended && !room.conv.archived && !room.mutedUntil,
    myId: store.me.id,
    reply: (m) => {
      store.setReplyTo(roomId, m);
      focusComposer();
    },
    react: (m, emoji) => store.react(roomId, m, emoji),
    pick: (seq) => {
      const from = pickerSeq;
      setPickerSeq(seq);
      // Closing gives focus back to the message's React button.
      if (seq === null && from !== null) requestAnimationFrame(() => document.querySelector<HTMLElement>(`li[data-seq="${from}"] .action.react`)?.focus());
    },
    jump: (seq) => store.jumpTo(roomId, seq),
    edit: (m) => setEditingSeq(m.seq),
    remove: (m) => {
      const mine = store.isMe(m.author);
      if (!confirm(mine ? 'Delete this message?' : `Delete this message by ${m.author.displayName} for everyone?`)) return;
      // Own messages go over the socket; moderation goes through the panel, which audits it.
      if (mine) store.connection.remove(roomId, m.seq);
      else void staffAction('/admin/api/messages/delete', { room: roomId, seq: m.seq }).then((err) => err && setNotice(`The message was not deleted: ${err}.`));
    },
    mute: (m) => {
      if (!confirm(`Mute ${m.author.displayName} in this room for 15 minutes?`)) return;
      void staffAction('/admin/api/mute', { room: roomId, userId: m.author.id, minutes: 15 }).then((err) =>
        setNotice(err ? `The mute did not work: ${err}.` : `${m.author.displayName} is muted here for 15 minutes.`));
    },
  };

  const editLast = () => {
    const mine = [...room.messages].reverse().find((m) => store.isMe(m.author) && !m.deletedAt);
    if (mine) setEditingSeq(mine.seq);
  };

  const editor = (message: ChatMessage) => (
    <InlineEditor
      message={message}
      limit={store.maxMessageBytes}
      onSave={(body) => {
        if (body.trim() && body !== message.body) store.connection.edit(roomId, message.seq, body);
        setEditingSeq(null);
        focusComposer();
      }}
      onCancel={() => {
        setEditingSeq(null);
        focusComposer();
      }}
    />
  );

  const connState = room.removed ? 'removed' : store.state;
  const stateText = room.removed ? 'Removed' : store.state === 'reconnecting' && store.stateDetail.offline ? 'Offline' : STATE_TEXT[store.state];
  const locked = room.removed ? 'You are no longer a member of this room'
    : ended ? 'You are signed out'
    : room.conv.archived ? 'This room is archived'
    : room.mutedUntil ? 'You are muted in this room'
    : null;
  const title = displayName(room.conv);
  const subtitle = isGroup(room.conv) ? groupNames(room.conv) : room.conv.kind === 'direct' ? room.conv.peer?.displayName ?? '' : room.conv.topic;
  const shownNotice = notice ?? room.notice ?? (room.conv.archived ? 'This room is archived: it is read-only now.' : null);
  const typing = [...room.typing.values()].map((t) => t.user.displayName);
  const pending = store.connection.pendingCount();

  return (
    <section class={`conversation${dropping ? ' dropping' : ''}`} aria-labelledby="conversation-title"
      // Files dropped on the conversation are attached to the draft (the composer uploads them).
      onDragOver={(e) => {
        if (locked || !e.dataTransfer?.types.includes('Files')) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        if (!dropping) setDropping(true);
      }}
      onDragLeave={(e) => {
        if (e.relatedTarget === null || !e.currentTarget.contains(e.relatedTarget as Node)) setDropping(false);
      }}
      onDrop={(e) => {
        setDropping(false);
        const dropped = filesOf(e.dataTransfer);
        if (locked || !dropped.length) return;
        e.preventDefault();
        document.dispatchEvent(new CustomEvent('parley:attach-files', { detail: dropped }));
      }}>
      <header class="conversation-header">
        <div class="conversation-title">
          <h1 id="conversation-title">
            {room.conv.kind === 'private' ? <><Icon name="lock" label="private" />{' '}</> : room.conv.kind === 'public' ? <span aria-hidden="true"># </span> : null}
            {title}
          </h1>
          {subtitle ? <p class="muted topic" dir="auto">{subtitle}</p> : null}
        </div>
        <span id="conn-state" class="conn-state" role="status" aria-live="polite" data-state={connState}>{stateText}</span>
        <button type="button" class="icon-button details-toggle" aria-expanded={detailsOpen} aria-controls="details" onClick={onToggleDetails}>
          <Icon name="info" /><span class="visually-hidden">Conversation details</span>
        </button>
      </header>
      {store.state === 'reconnecting' || store.state === 'connecting' && store.stateDetail.offline ? (
        <div class="conn-banner" id="conn-banner" role="status">
          {store.stateDetail.offline ? 'You are offline.' : 'Reconnecting…'}
          {pending ? ` ${plural(pending, 'message')} will be sent when the connection is back.` : ' Messages you write will be sent when the connection is back.'}
        </div>
      ) : null}
      <p id="moderation-notice" class="notice" role="status" aria-live="polite" hidden={!shownNotice}>{shownNotice ?? ''}</p>
      <MessageList
        key={roomId}
        store={store}
        room={room}
        dividerSeq={dividerSeq}
        editingSeq={editingSeq}
        renderBody={renderBody}
        actions={actions}
        onEditDone={() => setEditingSeq(null)}
        editor={editor}
        focusComposer={focusComposer}
        pickerSeq={pickerSeq}
      />
      <p id="typing" class="typing muted" aria-live="polite">
        {typing.length === 0 ? '' : typing.length === 1 ? `${typing[0]} is typing…` : `${typing.join(', ')} are typing…`}
      </p>
      <Composer key={roomId} store={store} room={room} lockedReason={locked} onEditLast={editLast} inputRef={inputRef} />
      {ended ? <SessionEnded reason={store.stateDetail.reason} /> : null}
    </section>
  );
}

function InlineEditor({ message, limit, onSave, onCancel }: { message: ChatMessage; limit: number; onSave: (body: string) => void; onCancel: () => void }) {
  const [text, setText] = useState(message.body);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  const tooLarge = new TextEncoder().encode(text).length > limit;
  return (
    <form class="edit-form" onSubmit={(e) => {
      e.preventDefault();
      if (!tooLarge) onSave(text);
    }}>
      <label for={`edit-${message.seq}`} class="visually-hidden">Edit message</label>
      <textarea id={`edit-${message.seq}`} ref={ref} value={text} rows={2} dir="auto" aria-invalid={tooLarge ? 'true' : undefined}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            onCancel();
          } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            if (!tooLarge) onSave(text);
          }
        }} />
      <div class="row">
        <button type="submit" class="primary small" disabled={tooLarge}>Save</button>
        <button type="button" class="small" onClick={onCancel}>Cancel</button>
        <span class="hint">{tooLarge ? `Over the ${limit.toLocaleString()}-byte limit` : 'Enter to save · Escape to cancel'}</span>
      </div>
    </form>
  );
}

/** One accurate sentence: banned or deactivated people are not invited to log in again. */
function SessionEnded({ reason }: { reason?: string }) {
  const text = reason ?? '';
  const login = <a href={`/login?next=${encodeURIComponent(location.pathname)}`}>Log in again</a>;
  let body: preact.ComponentChildren;
  if (/banned/i.test(text)) body = 'Your account was banned: you can no longer use Parley.';
  else if (/deactivated/i.test(text)) body = 'Your account was deactivated: ask an administrator to reactivate it.';
  else if (/role changed/i.test(text)) body = <>Your role changed. {login} to continue.</>;
  else if (/session has ended/i.test(text)) body = <>Your session has ended. {login} to continue.</>;
  else body = <>{text.replace(/\s*Log in again\.?$/i, '') || 'You were signed out.'} {login} to continue.</>;
  return <p class="field-error session-ended" role="alert">{body}</p>;
}
