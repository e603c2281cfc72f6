// Message bodies → safe HTML: a markdown subset (bold, italic, strike, inline code, code blocks,
// quotes, lists, links) plus autolinked URLs and @mentions, parsed by markdown-it with raw HTML off, then
// sanitized by DOMPurify with a short allow-list before anything reaches the DOM.
import MarkdownIt from 'markdown-it';
import type StateInline from 'markdown-it/lib/rules_inline/state_inline.mjs';
import DOMPurify from 'dompurify';

const ALLOWED_TAGS = ['p', 'br', 'strong', 'em', 's', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'span'];
const ALLOWED_ATTR = ['href', 'title', 'class', 'rel', 'target', 'start', 'data-handle'];
const MENTION = /^@([a-z0-9_]{3,32}|room)(?![A-Za-z0-9_])/i;

function mentionRule(state: StateInline, silent: boolean): boolean {
  if (state.src.charCodeAt(state.pos) !== 0x40 /* @ */) return false;
  const before = state.pos === 0 ? '' : state.src[state.pos - 1]!;
  if (/[A-Za-z0-9_.]/.test(before)) return false; // an email address, not a mention
  const match = MENTION.exec(state.src.slice(state.pos));
  if (!match) return false;
  if (!silent) {
    const token = state.push('mention', '', 0);
    token.content = match[1]!.toLowerCase();
  }
  state.pos += match[0].length;
  return true;
}

/** `roomMentionsMe`: the author may mention everyone (a moderator or admin); anyone else's @room is plain text. */
export function createRenderer(myHandle: string): (body: string, roomMentionsMe?: boolean) => string {
  const md = new MarkdownIt('zero', { html: false, linkify: true, breaks: true });
  md.enable([
    'paragraph', 'blockquote', 'code', 'fence', 'list', 'newline', 'escape', 'backticks',
    'emphasis', 'strikethrough', 'link', 'linkify', 'autolink', 'entity', 'text', 'balance_pairs', 'fragments_join', 'text_join',
  ]);
  md.inline.ruler.before('emphasis', 'mention', mentionRule);
  const me = myHandle.toLowerCase();
  md.renderer.rules.mention = (tokens, idx, _options, env: { roomMentionsMe?: boolean }) => {
    const handle = tokens[idx]!.content;
    if (handle === 'room' && !env.roomMentionsMe) return '@room';
    const mine = handle === me || handle === 'room';
    return `<span class="mention${mine ? ' mention-me' : ''}" data-handle="${md.utils.escapeHtml(handle)}">@${md.utils.escapeHtml(handle)}</span>`;
  };
  const defaultLink = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    tokens[idx]!.attrSet('target', '_blank');
    tokens[idx]!.attrSet('rel', 'noopener noreferrer nofollow ugc');
    return defaultLink(tokens, idx, options, env, self);
  };

  return (body: string, roomMentionsMe = false) => {
    const env = { roomMentionsMe };
    const tokens = md.parse(body, env);
    // A one-paragraph message (most of them) renders without the <p>: plain text stays plain.
    const html = tokens.length === 3 && tokens[0]!.type === 'paragraph_open' && tokens[1]!.type === 'inline'
      ? md.renderer.renderInline(tokens[1]!.children ?? [], md.options, env)
      : md.renderer.render(tokens, md.options, env);
    return DOMPurify.sanitize(html, { ALLOWED_TAGS, ALLOWED_ATTR, ALLOW_DATA_ATTR: false });
  };
}
