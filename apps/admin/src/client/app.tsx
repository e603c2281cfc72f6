// The chat client: sidebar + conversation + details on one socket. Started by /chat, /chat/:id and the
// room pages (/rooms/:id); its settings come from #app's data attributes (the CSP forbids inline script).
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { UserRef } from '@parley/protocol';
import { ChatStore, displayName, isHidden, type Conversation, type UserInfo } from './store.ts';
import { createRenderer } from './markdown.ts';
import { Sidebar } from './ui/sidebar.tsx';
import { ConversationView, STATE_TEXT } from './ui/conversation.tsx';
import { Details } from './ui/details.tsx';
import { QuickSwitcher } from './ui/switcher.tsx';
import { showNotification } from './ui/notifications.tsx';
import { jumpFromLocation, SearchBar } from './ui/search.tsx';

const root = document.getElementById('app') as HTMLElement;
const data = root.dataset;
const me: UserInfo = {
  id: Number(data.userId),
  handle: data.handle ?? '',
  displayName: data.displayName ?? '',
  role: (data.role as UserInfo['role']) ?? 'user',
};
const store = new ChatStore(me, data.chatUrl ?? '');
const initialRoom = data.roomId ? Number(data.roomId) : null;
const invite = data.inviteError ? { error: data.inviteError, value: data.inviteValue ?? '' } : null;
const LAST_ROOM = `parley.lastRoom.${me.id}`;
if (data.initial) {
  try {
    const initial = JSON.parse(data.initial) as { conversations: Conversation[]; members: UserRef[] | null; roomMentioners?: number[] };
    store.seed(initial.conversations, initialRoom, initial.members, initial.roomMentioners);
    if (initialRoom !== null && store.rooms.has(initialRoom)) {
      store.open(initialRoom);
      void store.reopen(initialRoom); // its address was asked for: a closed DM is open again
    }
  } catch {
    // fall back to fetching the list
  }
}

function roomFromPath(path: string): number | null {
  const match = /^\/(?:chat|rooms)\/(\d+)/.exec(path);
  return match ? Number(match[1]) : null;
}

function useStore(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion((v) => v + 1)), []);
  return version;
}

function App() {
  useStore();
  const renderBody = useMemo(() => createRenderer(me.handle), []);
  const [switcher, setSwitcher] = useState(false);
  const [drawer, setDrawer] = useState(false);
  const [details, setDetails] = useState(() => window.matchMedia('(min-width: 1100px)').matches);
  const [flash, setFlash] = useState(data.flash || null);

  const open = (roomId: number, push = true) => {
    void store.ensure(roomId).then(() => {
      store.open(roomId);
      void store.reopen(roomId); // going to a closed DM opens it again (everywhere)
      try {
        localStorage.setItem(LAST_ROOM, String(roomId));
      } catch {
        // ignore
      }
      if (push && roomFromPath(location.pathname) !== roomId) history.pushState({ roomId }, '', `/chat/${roomId}`);
    });
    setDrawer(false);
    setSwitcher(false);
    setFlash(null);
  };

  /** After leaving or closing the open conversation: show the first one still listed. */
  const openAnother = () => {
    const next = [...store.rooms.values()].find((r) => !r.removed && !isHidden(r.conv))?.conv.id ?? null;
    if (next !== null) open(next);
    else history.pushState({}, '', '/chat');
  };
  const leave = async (roomId: number) => {
    if (await store.leave(roomId)) openAnother();
  };
  const hide = async (roomId: number) => {
    if (await store.hide(roomId)) openAnother();
  };

  useEffect(() => {
    store.notify = (conv, message) => showNotification(conv, message, (id) => open(id));
    void store.start().then(() => {
      let first = initialRoom;
      if (first === null) {
        // Chosen for the person, not by them: never a conversation they closed.
        const shown = [...store.rooms.values()].filter((r) => !isHidden(r.conv)).map((r) => r.conv.id);
        const saved = Number(localStorage.getItem(LAST_ROOM) ?? 0);
        first = shown.includes(saved) ? saved : shown[0] ?? null;
        if (first !== null) history.replaceState({ roomId: first }, '', `/chat/${first}`);
      }
      if (first !== null && store.rooms.has(first)) {
        jumpFromLocation(store, first);
        store.open(first);
        if (first === initialRoom) void store.reopen(first);
      } else store.changed();
    });
    const onPop = () => {
      const id = roomFromPath(location.pathname);
      if (id !== null) open(id, false);
    };
    window.addEventListener('popstate', onPop);
    // Plain clicks on conversation links switch without a page load.
    const onClick = (e: MouseEvent) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      const link = (e.target as HTMLElement).closest<HTMLAnchorElement>('a[href^="/chat/"]');
      const id = link ? roomFromPath(new URL(link.href).pathname) : null;
      if (id === null) return;
      e.preventDefault();
      open(id);
    };
    document.addEventListener('click', onClick);
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setSwitcher(true);
      } else if (e.key === 'Escape') setDrawer(false);
    };
    document.addEventListener('keydown', onKey);
    const onVisible = () => {
      if (document.visibilityState === 'visible') {
        store.hiddenAlerts = 0;
        store.changed();
      }
    };
    document.addEventListener('visibilitychange', onVisible);
    // A safety net for conversations that appeared while no socket could say so.
    const refresh = setInterval(() => void store.refresh(), 120_000);
    return () => {
      window.removeEventListener('popstate', onPop);
      document.removeEventListener('click', onClick);
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('visibilitychange', onVisible);
      clearInterval(refresh);
    };
  }, []);

  // The drawer button lives in the server-rendered top bar.
  useEffect(() => {
    const button = document.getElementById('drawer-toggle');
    if (!button) return;
    button.setAttribute('aria-expanded', String(drawer));
    const toggle = () => setDrawer((d) => !d);
    button.addEventListener('click', toggle);
    return () => button.removeEventListener('click', toggle);
  }, [drawer]);

  const current = store.current;
  // Title: "(3) Parley" while hidden with new DMs/mentions, else the conversation's name.
  useEffect(() => {
    const hidden = document.visibilityState === 'hidden';
    document.title = hidden && store.hiddenAlerts > 0
      ? `(${store.hiddenAlerts}) Parley`
      : current ? `${displayName(current.conv)} · Parley` : 'Chat · Parley';
  });

  return (
    <div class={`chat-app${drawer ? ' drawer-open' : ''}${details ? ' details-open' : ''}`}>
      <Sidebar store={store} open={drawer} onSwitcher={() => setSwitcher(true)} />
      {drawer ? <div class="drawer-backdrop" onClick={() => setDrawer(false)} aria-hidden="true" /> : null}
      <div class="main-column">
        {flash ? <p class="flash" role="status">{flash}</p> : null}
        <SearchBar store={store} onOpenAt={(roomId, seq) => {
          store.openAt(roomId, seq);
          open(roomId);
        }} />
        {current ? (
          <ConversationView key={current.conv.id} store={store} room={current} renderBody={renderBody}
            detailsOpen={details} onToggleDetails={() => setDetails((d) => !d)} />
        ) : (
          <section class="empty-state">
            <h1>{store.loaded ? 'Welcome to Parley' : 'Loading…'}</h1>
            {store.loadError ? <p class="field-error" role="alert">Your conversations did not load: {store.loadError}</p> : null}
            {store.loaded && initialRoom !== null && store.currentId === null
              ? <p class="notice">This conversation is not in your list: it may be archived (archived rooms take no new members) or you were removed from it.</p>
              : null}
            {store.loaded && store.rooms.size === 0 ? <p>You are not in any conversation yet. <a href="/rooms">Find a room</a> or message someone from the sidebar.</p> : null}
            <span id="conn-state" class="conn-state" role="status" data-state={store.state}>{STATE_TEXT[store.state] ?? store.state}</span>
          </section>
        )}
      </div>
      {current ? <Details store={store} room={current} open={details} onClose={() => setDetails(false)} invite={current.conv.id === initialRoom ? invite : null} onLeave={leave} onHide={hide} /> : null}
      {switcher ? <QuickSwitcher store={store} onClose={() => setSwitcher(false)} onOpen={(id) => open(id)} /> : null}
    </div>
  );
}

document.getElementById('app-loading')?.remove();
render(<App />, root);
(window as unknown as { parleyChat: { pendingCount(): number; gapsRepaired: number } }).parleyChat = {
  pendingCount: () => store.connection.pendingCount(),
  get gapsRepaired() {
    return store.connection.gapsRepaired;
  },
};
(window as unknown as { parleyStore: ChatStore }).parleyStore = store;
