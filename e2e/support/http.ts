// A tiny HTTP client with a cookie jar that speaks to the panel like a browser does (CSRF tokens from
// the forms), for tests that need users, sessions and chat tokens without a browser.
export class PanelClient {
  private readonly cookies = new Map<string, string>();

  constructor(readonly baseUrl: string, private readonly headers: Record<string, string> = {}) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      redirect: 'manual',
      ...init,
      headers: { ...this.headers, ...(init.headers as Record<string, string>), cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** GET a page and return the CSRF token of its first form. */
  async csrf(path: string): Promise<string> {
    const res = await this.request(path, { headers: { accept: 'text/html' } });
    const html = await res.text();
    const match = /name="_csrf" value="([^"]+)"/.exec(html) ?? /name="csrf-token" content="([^"]+)"/.exec(html);
    if (!match) throw new Error(`no CSRF token on ${path} (HTTP ${res.status})`);
    return match[1]!;
  }

  async postForm(path: string, fields: Record<string, string>, csrfFrom = path): Promise<Response> {
    const _csrf = await this.csrf(csrfFrom);
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams({ ...fields, _csrf }).toString(),
    });
  }

  async signUp(user: { email: string; handle: string; displayName: string; password: string }): Promise<void> {
    const res = await this.postForm('/signup', user);
    if (res.status !== 303) throw new Error(`signup failed: HTTP ${res.status} ${await res.text()}`);
    // Sign-up does not sign in (it must not reveal whether the e-mail had an account): log in.
    const login = await this.logIn(user.email, user.password);
    if (login.status !== 303) throw new Error(`login after signup failed: HTTP ${login.status}`);
  }

  async logIn(email: string, password: string): Promise<Response> {
    return this.postForm('/login', { email, password }, '/login');
  }

  async createRoom(name: string, kind: 'public' | 'private' = 'public'): Promise<number> {
    const res = await this.postForm('/rooms', { name, kind, topic: '' }, '/rooms');
    const location = res.headers.get('location') ?? '';
    const id = Number(/\/rooms\/(\d+)/.exec(location)?.[1]);
    if (!id) throw new Error(`room creation failed: HTTP ${res.status}`);
    return id;
  }

  async chatToken(): Promise<string> {
    const res = await this.request('/api/chat-token');
    if (!res.ok) throw new Error(`chat token: HTTP ${res.status}`);
    return ((await res.json()) as { token: string }).token;
  }
}

let counter = 0;
export function newUser(label = 'user') {
  const n = `${Date.now().toString(36)}${(counter++).toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
  const handle = `${label}_${n}`.slice(0, 32).toLowerCase();
  return { email: `${handle}@example.test`, handle, displayName: `${label} ${n}`, password: 'correct horse battery staple' };
}
