import { describe, expect, it } from 'vitest';
import { isEmpty, parseSearchQuery, prefixTsquery } from './search-query.ts';

describe('parseSearchQuery', () => {
  it('reads words, phrases, prefixes, exclusions and filters', () => {
    expect(parseSearchQuery('deploy "release notes" rollb* -flaky in:#Ops from:@Ann after:2026-01-31 before:2026-03-01 "unterminated')).toEqual({
      words: ['deploy'],
      phrases: ['release notes', 'unterminated'],
      prefixes: ['rollb'],
      excluded: ['flaky'],
      rooms: ['Ops'],
      authors: ['ann'],
      before: '2026-03-01',
      after: '2026-01-31',
    });
  });

  it('reads a quoted room name with spaces', () => {
    expect(parseSearchQuery('in:"#Ops Team" outage IN:"lobby"')).toMatchObject({ rooms: ['Ops Team', 'lobby'], words: ['outage'], phrases: [] });
  });

  it('treats what it does not recognise as words (a bad date, a lone dash or star, an empty phrase)', () => {
    const query = parseSearchQuery('before:2026-02-30 after:soon - * "" from:');
    expect(query).toMatchObject({ words: ['before:2026-02-30', 'after:soon', '-', '*', 'from:'], before: null, after: null, phrases: [] });
    expect(isEmpty(parseSearchQuery('   '))).toBe(true);
    expect(isEmpty(parseSearchQuery('from:@bob'))).toBe(false);
  });
});

describe('prefixTsquery', () => {
  it('keeps letter and digit runs only, so tsquery syntax cannot get through', () => {
    expect(prefixTsquery('caf')).toBe('caf:*');
    expect(prefixTsquery("it's|!(x)")).toBe('it:* & s:* & x:*');
    expect(prefixTsquery('Ärg')).toBe('Ärg:*');
    expect(prefixTsquery(':*&|')).toBeNull();
  });
});
