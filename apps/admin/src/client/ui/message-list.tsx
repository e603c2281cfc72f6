// The conversation's messages: a window of at most MAX_ROWS rows over everything loaded (10,000 loaded
// messages cost no more to render than 200), grouped by author within 5 minutes, with date separators,
// a "New messages" divider, infinite scroll upward that keeps what you were reading in place, and a
// jump-to-latest button with a count. Keyboard: the list is one Tab stop; arrows move between messages
// (roving focus), Enter opens a message's actions, Escape goes back.
import { memo } from 'preact/compat';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ChatMessage, ReactionSummary } from '@parley/protocol';
import type { ChatStore, PendingSend, RoomState } from '../store.ts';
import { Avatar } from './avatar.tsx';
import { Attachments } from './attachments.tsx';
import type { RestoredDraft } from './composer.tsx';
import { dayKey, formatDay, formatFull, formatTime, plural } from './format.ts';
import { EmojiPicker } from './emoji-picker.tsx';
import { REPLY_EXCERPT_CHARS } from '@parley/protocol/wire';

const MIN_ROWS = 120;
const MAX_ROWS = 240;
const STEP = 60;
const EDGE_PX = 600;
const GROUP_MS = 5 * 60_000;
/** Rows shown below a search result opened in the room (the rest of the window is above it). */
const JUMP_CONTEXT_BELOW = 20;

export interface MessageActions {
  edit(message: ChatMessage): void;
  remove(message: ChatMessage): void;
  mute(message: ChatMessage): void;
  /** Put a reply chip above the composer. */
  reply(message: ChatMessage): void;
  /** Toggle my reaction with this emoji. */
  react(message: ChatMessage, emoji: string): void;
  /** Open the reaction picker on a message (null: close it). */
  pick(seq: number | null): void;
  /** Scroll to the original of a reply and highlight it. */
  jump(seq: number): void;
  canModerate: boolean;
  /** Reactions and replies are allowed (not archived, muted, removed or signed out). */
  canWrite: boolean;
  myId: number;
}

interface Props {
  store: ChatStore;
  room: RoomState;
  dividerSeq: number | null;
  editingSeq: number | null;
  renderBody: (body: string, roomMentionsMe?: boolean) => string;
  actions: MessageActions;
  onEditDone: () => void;
  editor: (message: ChatMessage) => preact.JSX.Element;
  /** Focus the composer (Escape from the list). */
  focusComposer: () => void;
  /** The message whose reaction picker is open. */
  pickerSeq: number | null;
}

interface Anchor {
  seq: number;
  offset: number;
}

export function MessageList(props: Props) {
  const { store, room } = props;
  const roomId = room.conv.id;
  const scroller = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLOListElement>(null);
  /** Last seq of the window; null: follow the latest message. */
  const [endSeq, setEndSeq] = useState<number | null>(null);
  const [size, setSize] = useState(MIN_ROWS);
  const [focusSeq, setFocusSeq] = useState<number | null>(null);
  const [lastVisible, setLastVisible] = useState(0);
  const stick = useRef(true);
  const anchor = useRef<Anchor | null>(null);
  const initialScrollDone = useRef(false);
  /** A search result opened here: highlighted, and scrolled to the middle once rendered. */
  const [highlightSeq, setHighlightSeq] = useState<number | null>(null);
  const scrollToSeq = useRef<number | null>(null);
  /** A message to scroll to once it is rendered (a reply's quote was clicked). */
  const jumpTarget = useRef<number | null>(null);
  const [, setJumpTick] = useState(0);

  const messages = room.messages;
  // Recomputed every render: the store edits messages in place (updates), and a slice is cheap.
  const view = (() => {
    let end = messages.length;
    if (endSeq !== null && messages[0]) end = Math.min(messages.length, Math.max(0, endSeq - messages[0].seq + 1));
    const start = Math.max(0, end - size);
    return { start, end, rows: messages.slice(start, end) };
  })();

  /** Remember which message is at the top of the viewport, to keep it there across a re-render. */
  const captureAnchor = () => {
    const el = scroller.current;
    if (!el || stick.current) return;
    const top = el.getBoundingClientRect().top;
    // Never the first row shown: it changes shape (avatar, date line) once older messages come in above.
    const rows = [...el.querySelectorAll<HTMLElement>('li[data-seq]')];
    for (const li of rows.length > 1 ? rows.slice(1) : rows) {
      const rect = li.getBoundingClientRect();
      if (rect.bottom > top) {
        anchor.current = { seq: Number(li.dataset.seq), offset: rect.top - top };
        return;
      }
    }
  };

  useEffect(() => store.subscribe(captureAnchor), [store]);
  useEffect(() => store.onRoomEvent(roomId, (event) => {
    if (event.type === 'sent') {
      stick.current = true;
      setEndSeq(null);
    } else if (event.type === 'window' && room.jump === null) {
      // Back to the latest messages (Jump to latest, a send, reopening the room).
      stick.current = true;
      setEndSeq(null);
      setSize(MIN_ROWS);
      setHighlightSeq(null);
    } else if (event.type === 'newer') {
      // Newer messages came in below an older window: keep what is in view, and extend the window down.
      captureAnchor();
      const last = room.messages.at(-1)?.seq ?? 0;
      setEndSeq((e) => {
        if (e === null) return null;
        const next = e + Math.min(event.count, STEP);
        // Met the live end: follow it again (new messages show below).
        return !room.gapAfter && next >= last ? null : Math.min(next, last);
      });
    } else if (event.type === 'jump') {
      jumpTarget.current = event.seq;
      // Bring a loaded message into the rendered window (it may be outside it).
      const last = room.messages.at(-1)?.seq ?? 0;
      if (room.messages[0] && event.seq >= room.messages[0].seq) {
        stick.current = false;
        setEndSeq(Math.min(last, event.seq + STEP) >= last ? null : event.seq + STEP);
        setSize(MAX_ROWS);
      }
      setJumpTick((n) => n + 1);
    } else if (event.type === 'history') {
      captureAnchor();
      // Show what arrived: grow the window, or slide it up once it is at its largest.
      setSize((s) => Math.min(MAX_ROWS, s + event.count));
      setEndSeq((e) => {
        const last = room.messages.at(-1)?.seq ?? 0;
        const current = e ?? last;
        const overflow = Math.max(0, size + event.count - MAX_ROWS);
        return overflow > 0 ? current - overflow : e;
      });
    }
  }), [store, roomId, room, size]);

  const markSeen = () => {
    const el = scroller.current;
    if (!el) return;
    const bottom = el.getBoundingClientRect().bottom;
    const items = el.querySelectorAll<HTMLElement>('li[data-seq]');
    let seen = 0;
    for (let i = items.length - 1; i >= 0; i--) {
      const rect = items[i]!.getBoundingClientRect();
      if (rect.top < bottom - 8) {
        seen = Number(items[i]!.dataset.seq);
        break;
      }
    }
    setLastVisible(seen);
    // Seen means on screen for someone looking: the tab visible and the window focused (a chat left open
    // in a background window, or behind another app, must not clear the badges of what arrives there).
    if (seen > 0 && document.visibilityState === 'visible' && document.hasFocus() && room.ready) store.markRead(roomId, seen);
  };

  // Coming back (tab shown again, window focused again) marks what is on screen as read.
  useEffect(() => {
    const onBack = () => markSeen();
    document.addEventListener('visibilitychange', onBack);
    window.addEventListener('focus', onBack);
    return () => {
      document.removeEventListener('visibilitychange', onBack);
      window.removeEventListener('focus', onBack);
    };
  });

  // After every render: keep the bottom in view when following, else keep the anchor message in place.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const jump = room.jump;
    const last = messages.at(-1)?.seq ?? 0;
    if (jump !== null && messages[0] && messages[0].seq <= jump && jump <= last) {
      // Opened at a search result: show it with context above and below, highlighted; this re-renders.
      room.jump = null;
      initialScrollDone.current = true;
      stick.current = false;
      setSize(MIN_ROWS);
      setEndSeq(Math.min(last, jump + JUMP_CONTEXT_BELOW));
      setHighlightSeq(jump);
      setFocusSeq(jump);
      scrollToSeq.current = jump;
      return;
    }
    if (scrollToSeq.current !== null) {
      const li = el.querySelector<HTMLElement>(`li[data-seq="${scrollToSeq.current}"]`);
      if (li) {
        const rect = li.getBoundingClientRect();
        el.scrollTop += rect.top - el.getBoundingClientRect().top - Math.max(0, (el.clientHeight - rect.height) / 2);
        scrollToSeq.current = null;
        anchor.current = null;
        markSeen();
        return;
      }
    }
    if (!initialScrollDone.current && room.ready) {
      initialScrollDone.current = true;
      const divider = props.dividerSeq !== null ? el.querySelector<HTMLElement>('.new-divider') : null;
      if (divider && divider.offsetTop > el.clientHeight / 2) {
        el.scrollTop = Math.max(0, divider.offsetTop - 48);
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      } else {
        el.scrollTop = el.scrollHeight;
      }
    } else if (stick.current && endSeq === null) {
      el.scrollTop = el.scrollHeight;
    } else if (anchor.current) {
      const li = el.querySelector<HTMLElement>(`li[data-seq="${anchor.current.seq}"]`);
      if (li) el.scrollTop += li.getBoundingClientRect().top - el.getBoundingClientRect().top - anchor.current.offset;
    }
    anchor.current = null;
    if (jumpTarget.current !== null) {
      const li = el.querySelector<HTMLElement>(`li[data-seq="${jumpTarget.current}"]`);
      if (li) {
        jumpTarget.current = null;
        stick.current = false;
        li.scrollIntoView({ block: 'center' });
        setFocusSeq(Number(li.dataset.seq));
        li.focus({ preventScroll: true });
        const seq = Number(li.dataset.seq);
        setTimeout(() => {
          if (room.highlightSeq === seq) {
            room.highlightSeq = null;
            store.changed();
          }
        }, 2_500);
      }
    }
    markSeen();
  });

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const fromBottom = el.scrollHeight - el.scrollTop - el.clientHeight;
    stick.current = fromBottom < 40 && endSeq === null;
    markSeen();
    if (el.scrollTop < EDGE_PX) {
      if (view.start > 0) {
        captureAnchor();
        if (size < MAX_ROWS) setSize(Math.min(MAX_ROWS, size + STEP));
        else setEndSeq((messages[view.end - 1]?.seq ?? 0) - STEP);
      } else if (room.hasMore && !room.loadingOlder) {
        store.loadOlder(roomId);
      }
    } else if (fromBottom < EDGE_PX && endSeq !== null) {
      const last = messages.at(-1)?.seq ?? 0;
      // An older window ends here but the room goes on: fetch the next page (the list grows on 'newer').
      if (room.gapAfter && endSeq >= last) return store.loadNewer(roomId);
      captureAnchor();
      const next = endSeq + STEP;
      setEndSeq(next >= last ? (room.gapAfter ? last : null) : next);
    }
  };

  const jumpToLatest = () => {
    store.returnToLive(roomId);
    setHighlightSeq(null);
    stick.current = true;
    setEndSeq(null);
    setSize(MIN_ROWS);
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    props.focusComposer();
  };

  // Roving focus: one message is the list's Tab stop.
  const rows = view.rows;
  const focusable = focusSeq !== null && rows.some((m) => m.seq === focusSeq) ? focusSeq : rows.at(-1)?.seq ?? null;
  const onKeyDown = (event: KeyboardEvent) => {
    const target = event.target as HTMLElement;
    const li = target.closest<HTMLElement>('li[data-seq]');
    if (!li) return;
    const inActions = target.closest('.actions, .reactions, .reply-quote') !== null;
    const move = (to: Element | null | undefined) => {
      const next = to as HTMLElement | null;
      if (next?.dataset.seq) {
        event.preventDefault();
        setFocusSeq(Number(next.dataset.seq));
        next.focus();
      }
    };
    const sibling = (el: Element, dir: 'previousElementSibling' | 'nextElementSibling') => {
      let s = el[dir];
      while (s && !(s as HTMLElement).dataset.seq) s = s[dir];
      return s;
    };
    if (inActions) {
      const buttons = [...li.querySelectorAll<HTMLButtonElement>(NAV_BUTTONS)];
      const i = buttons.indexOf(target as HTMLButtonElement);
      if (event.key === 'Escape') {
        event.preventDefault();
        li.focus();
      } else if (event.key === 'ArrowRight' || event.key === 'ArrowDown') {
        event.preventDefault();
        buttons[(i + 1) % buttons.length]?.focus();
      } else if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') {
        event.preventDefault();
        buttons[(i - 1 + buttons.length) % buttons.length]?.focus();
      }
      return;
    }
    if (target !== li) return;
    if (event.key === 'ArrowUp') move(sibling(li, 'previousElementSibling'));
    else if (event.key === 'ArrowDown') move(sibling(li, 'nextElementSibling'));
    else if (event.key === 'Home') move(list.current?.querySelector('li[data-seq]'));
    else if (event.key === 'End') move([...(list.current?.querySelectorAll('li[data-seq]') ?? [])].at(-1));
    else if (event.key === 'ArrowRight') {
      const first = li.querySelector<HTMLButtonElement>('.actions button') ?? li.querySelector<HTMLButtonElement>(NAV_BUTTONS);
      if (first) {
        event.preventDefault();
        first.focus();
      }
    } else if (event.key === 'Enter') {
      // Enter opens the actions on key up: moved on key down, the same key press would click the button.
      event.preventDefault();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      props.focusComposer();
    }
  };

  const onKeyUp = (event: KeyboardEvent) => {
    const target = event.target as HTMLElement;
    if (event.key !== 'Enter' || !target.matches('li[data-seq]')) return;
    target.querySelector<HTMLButtonElement>('.actions button')?.focus();
  };

  // Reading an older window (a search result), the messages below are not new: the button says "Jump to latest".
  const newer = lastVisible && !room.gapAfter ? messages.filter((m) => m.seq > lastVisible && !store.isMe(m.author)).length : 0;
  const showJump = (!stick.current || endSeq !== null) && (endSeq !== null || newer > 0 || lastVisible < (messages.at(-1)?.seq ?? 0));

  const items: preact.JSX.Element[] = [];
  let previous: ChatMessage | undefined = view.start > 0 ? messages[view.start - 1] : undefined;
  if (view.start === 0 && room.ready) {
    items.push(
      <li class="history-edge" key="edge" aria-hidden={room.hasMore ? undefined : 'true'}>
        {room.hasMore ? (room.loadingOlder ? 'Loading older messages…' : 'Scroll up for older messages') : 'This is the beginning of the conversation.'}
      </li>,
    );
  }
  for (const message of rows) {
    const date = new Date(message.createdAt);
    const newDay = !previous || dayKey(new Date(previous.createdAt)) !== dayKey(date);
    if (newDay) items.push(<li class="day-separator" key={`day-${message.seq}`}><span>{formatDay(date)}</span></li>);
    const divider = props.dividerSeq !== null && message.seq === props.dividerSeq;
    if (divider) items.push(<li class="new-divider" key="new-divider"><span>New messages</span></li>);
    const grouped = !newDay && !divider && previous !== undefined && previous.author.id === message.author.id
      && !previous.deletedAt && date.getTime() - new Date(previous.createdAt).getTime() < GROUP_MS;
    items.push(
      <MessageRow
        key={message.seq}
        message={message}
        grouped={grouped}
        mine={store.isMe(message.author)}
        mentionsMe={store.mentionsMe(message) && !store.isMe(message.author)}
        roomMention={store.canMentionRoom(message.author)}
        tabbable={message.seq === focusable}
        highlighted={room.highlightSeq === message.seq}
        searchHit={message.seq === highlightSeq}
        pickerOpen={props.pickerSeq === message.seq}
        editing={props.editingSeq === message.seq}
        renderBody={props.renderBody}
        actions={props.actions}
        editor={props.editingSeq === message.seq ? props.editor : undefined}
        onFocus={setFocusSeq}
      />,
    );
    previous = message;
  }
  if (room.gapAfter && view.end === messages.length && room.ready) {
    items.push(<li class="history-edge" key="newer-edge">{room.loadingNewer ? 'Loading newer messages…' : 'Scroll down for newer messages'}</li>);
  }
  if (endSeq === null) for (const p of room.pending) items.push(<PendingRow key={p.clientId} pending={p} store={store} roomId={roomId} />);

  return (
    <div class="message-pane">
      <div class="scroller" ref={scroller} onScroll={onScroll}>
        {!room.ready ? <p class="muted loading-line">Loading messages…</p> : null}
        <ol id="messages" class="messages" ref={list} aria-label="Messages" aria-live="polite" aria-relevant="additions" onKeyDown={onKeyDown} onKeyUp={onKeyUp}>
          {items}
        </ol>
      </div>
      {showJump ? (
        <button type="button" class="jump-latest" id="jump-latest" onClick={jumpToLatest}>
          {newer > 0 ? `${plural(newer, 'new message')} ↓` : 'Jump to latest ↓'}
        </button>
      ) : null}
    </div>
  );
}

interface RowProps {
  message: ChatMessage;
  grouped: boolean;
  mine: boolean;
  mentionsMe: boolean;
  /** The author is a moderator or admin: their @room mentions everyone. */
  roomMention: boolean;
  tabbable: boolean;
  /** A reply's original, jumped to from its quote. */
  highlighted: boolean;
  /** The search result the room was opened at. */
  searchHit: boolean;
  pickerOpen: boolean;
  editing: boolean;
  renderBody: (body: string, roomMentionsMe?: boolean) => string;
  actions: MessageActions;
  editor?: (message: ChatMessage) => preact.JSX.Element;
  onFocus: (seq: number) => void;
}

/** The buttons of a message that arrows move between (none is a Tab stop: the message is). */
const NAV_BUTTONS = '.reply-quote, .reactions button, .actions button';

const MessageRow = memo(function MessageRow({ message, grouped, mine, mentionsMe, roomMention, tabbable, highlighted, searchHit, pickerOpen, editing, renderBody, actions, editor, onFocus }: RowProps) {
  const date = new Date(message.createdAt);
  const deleted = Boolean(message.deletedAt);
  const html = useMemo(() => (deleted ? '' : renderBody(message.body, roomMention)), [message.body, deleted, renderBody, roomMention]);
  const canDelete = !deleted && (mine || actions.canModerate);
  const canReact = !deleted && actions.canWrite;
  const authorId = `m-${message.seq}-author`;
  return (
    <li
      class={`message${grouped ? ' grouped' : ''}${mine ? ' mine' : ''}${deleted ? ' deleted' : ''}${mentionsMe ? ' mentions-me' : ''}${highlighted ? ' highlighted' : ''}${searchHit ? ' search-hit' : ''}`}
      id={`message-${message.seq}`}
      data-seq={message.seq}
      data-client-id={message.clientId}
      tabIndex={tabbable ? 0 : -1}
      aria-labelledby={`${authorId} m-${message.seq}-body`}
      onFocus={(e) => {
        if (e.target === e.currentTarget) onFocus(message.seq);
      }}
    >
      {grouped
        ? <time class="gutter-time" dateTime={message.createdAt} title={formatFull(date)} aria-hidden="true">{formatTime(date)}</time>
        : <Avatar user={message.author} />}
      <div class="message-main">
        <div class={grouped ? 'meta visually-hidden' : 'meta'}>
          <span class="author" id={authorId} title={`@${message.author.handle}`}>{message.author.displayName}</span>
          <time class="time" dateTime={message.createdAt} title={formatFull(date)}>{formatTime(date)}</time>
        </div>
        {message.replyTo && !deleted ? <ReplyQuote reply={message.replyTo} onJump={(seq) => actions.jump(seq)} /> : null}
        {editing && editor
          ? editor(message)
          // Bodies: markdown-it output (raw HTML off) sanitized by DOMPurify (markdown.ts).
          : deleted
            ? <div class="body" id={`m-${message.seq}-body`}>This message was deleted.</div>
            : <div class="body" id={`m-${message.seq}-body`} dir="auto" dangerouslySetInnerHTML={{ __html: html }} />}
        {message.attachments?.length && !deleted ? <Attachments items={message.attachments} /> : null}
        {message.editedAt && !deleted && !editing ? <span class="edited" title={`Edited ${formatFull(new Date(message.editedAt))}`}>(edited)</span> : null}
        {message.reactions?.length && !deleted ? (
          <div class="reactions" role="group" aria-label="Reactions">
            {message.reactions.map((r) => <ReactionChip key={r.emoji} reaction={r} myId={actions.myId} disabled={!actions.canWrite} onToggle={() => actions.react(message, r.emoji)} />)}
          </div>
        ) : null}
        {pickerOpen && canReact ? (
          <EmojiPicker onPick={(emoji) => {
            actions.pick(null);
            actions.react(message, emoji);
          }} onClose={() => actions.pick(null)} />
        ) : null}
      </div>
      {(canDelete || canReact) && !editing ? (
        <div class="actions" role="toolbar" aria-label="Message actions">
          {canDelete && mine ? <button type="button" tabIndex={-1} class="action" onClick={() => actions.edit(message)} aria-label="Edit your message">Edit</button> : null}
          {canDelete ? (
            <button type="button" tabIndex={-1} class="action danger" onClick={() => actions.remove(message)}
              aria-label={mine ? 'Delete your message' : `Delete message by ${message.author.displayName}`}>Delete</button>
          ) : null}
          {canDelete && !mine && actions.canModerate ? (
            <button type="button" tabIndex={-1} class="action" onClick={() => actions.mute(message)}
              aria-label={`Mute ${message.author.displayName} in this room for 15 minutes`}>Mute 15 min</button>
          ) : null}
          {canReact ? (
            <button type="button" tabIndex={-1} class="action react" aria-haspopup="dialog" aria-expanded={pickerOpen}
              onClick={() => actions.pick(pickerOpen ? null : message.seq)} aria-label={`Add a reaction to the message by ${message.author.displayName}`}>React</button>
          ) : null}
          {canReact ? (
            <button type="button" tabIndex={-1} class="action reply" onClick={() => actions.reply(message)}
              aria-label={`Reply to ${message.author.displayName}`}>Reply</button>
          ) : null}
        </div>
      ) : null}
    </li>
  );
});

/** "👍 2": who reacted in the tooltip and the accessible name; pressed when one of them is me. */
function ReactionChip({ reaction, myId, disabled, onToggle }: { reaction: ReactionSummary; myId: number; disabled: boolean; onToggle: () => void }) {
  const mine = reaction.userIds.includes(myId);
  const names = reaction.handles.map((h, i) => (reaction.userIds[i] === myId ? 'you' : `@${h}`));
  const more = reaction.count - names.length;
  const who = `${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
  return (
    <button type="button" tabIndex={-1} class={`reaction${mine ? ' mine' : ''}`} aria-pressed={mine} disabled={disabled}
      title={`Reacted with ${reaction.emoji} by ${who}`}
      aria-label={`${reaction.emoji} ${plural(reaction.count, 'reaction')} by ${who}${disabled ? '' : mine ? '; press to remove yours' : '; press to add yours'}`}
      onClick={onToggle}>
      <span aria-hidden="true">{reaction.emoji}</span> <span class="count" aria-hidden="true">{reaction.count}</span>
    </button>
  );
}

/** A reply's quote of its original: clicking it shows the original (or says it was deleted). */
function ReplyQuote({ reply, onJump }: { reply: NonNullable<ChatMessage['replyTo']>; onJump: (seq: number) => void }) {
  const who = reply.author ? reply.author.displayName : 'someone';
  return (
    <button type="button" tabIndex={-1} class={`reply-quote${reply.deleted ? ' gone' : ''}`} data-reply-to={reply.seq} onClick={() => onJump(reply.seq)}
      aria-label={reply.deleted ? 'In reply to a message that was deleted; show where it was' : `In reply to ${who}: ${reply.excerpt}. Show the original`}>
      <span class="reply-author" aria-hidden="true">↩ {reply.author ? `@${reply.author.handle}` : ''}</span>{' '}
      <span class="reply-excerpt" dir="auto" aria-hidden="true">{reply.deleted ? 'Original message deleted' : reply.excerpt}</span>
    </button>
  );
}

function PendingRow({ pending, store, roomId }: { pending: PendingSend; store: ChatStore; roomId: number }) {
  const failed = pending.status === 'failed';
  const queued = store.state !== 'open';
  return (
    <li class={`message mine pending${failed ? ' failed' : ''}`} data-client-id={pending.clientId}>
      <Avatar user={store.me} />
      <div class="message-main">
        <div class="meta">
          <span class="author">{store.me.displayName}</span>
          <span class="status" role={failed ? 'alert' : undefined}>{failed ? `Not sent: ${pending.error ?? 'refused'}` : queued ? 'Waiting for the connection…' : 'Sending…'}</span>
        </div>
        {pending.replyTo ? <p class="reply-quote pending-reply">↩ @{pending.replyTo.author.handle} <span class="reply-excerpt">{pending.replyTo.body.slice(0, REPLY_EXCERPT_CHARS)}</span></p> : null}
        <div class="body" dir="auto">{pending.body}</div>
        {pending.attachments?.length ? (
          <ul class="attachments pending-files" aria-label="Attachments">
            {pending.attachments.map((a) => <li key={a.id} class="attachment-file"><span class="attachment-name" dir="auto">{a.name}</span></li>)}
          </ul>
        ) : null}
        {failed ? (
          <div class="row pending-actions">
            <button type="button" class="small" onClick={() => store.retry(roomId, pending.clientId)}>Retry</button>
            <button type="button" class="small" onClick={() => {
              document.dispatchEvent(new CustomEvent<RestoredDraft>('parley:restore-draft', { detail: { body: pending.body, attachments: pending.attachments ?? [] } }));
              store.discard(roomId, pending.clientId);
            }}>Edit</button>
            <button type="button" class="small danger" onClick={() => store.discard(roomId, pending.clientId)}>Discard</button>
          </div>
        ) : null}
      </div>
    </li>
  );
}
