// The browser pages a spec file opens, each in a context of its own (its own cookies: one person per
// page), at the stack's admin address; all closed with the file, before the browser and services stop.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Stack } from '@parley/devtools';

export class PageJar {
  private readonly contexts: BrowserContext[] = [];

  constructor(private readonly browser: Browser, private readonly stack: Stack) {}

  /** A new person's context, 1280×800 unless `opts` says otherwise (for permissions or init scripts first). */
  async context(opts: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
    const ctx = await this.browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: this.stack.adminUrl, ...opts });
    this.contexts.push(ctx);
    return ctx;
  }

  /** A new person's page. */
  async open(opts: Parameters<Browser['newContext']>[0] = {}): Promise<Page> {
    return (await this.context(opts)).newPage();
  }

  async closeAll(): Promise<void> {
    for (const ctx of this.contexts.splice(0)) await ctx.close().catch(() => undefined);
  }
}
