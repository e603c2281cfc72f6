import { describe, expect, it } from 'vitest';
import { html } from './html.ts';

describe('html', () => {
  it('escapes interpolated strings, including attribute-breaking quotes', () => {
    const name = `<img src=x onerror="alert(1)">'`;
    expect(html`<p title="${name}">${name}</p>`.value).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;</p>',
    );
  });

  it('nests safe fragments and arrays without double escaping', () => {
    const items = ['a&b', 'c'].map((v) => html`<li>${v}</li>`);
    expect(html`<ul>${items}</ul>`.value).toBe('<ul><li>a&amp;b</li><li>c</li></ul>');
  });

  it('renders nothing for null, undefined and false', () => {
    expect(html`${null}${undefined}${false}${0}`.value).toBe('0');
  });
});
