import { describe, expect, it } from 'vitest';
import * as protocol from '@parley/protocol';
import * as wire from './wire.ts';

describe('browser wire constants', () => {
  it('equal the protocol package values', () => {
    expect(wire.SUBPROTOCOL).toBe(protocol.SUBPROTOCOL);
    expect(wire.TOKEN_SUBPROTOCOL_PREFIX).toBe(protocol.TOKEN_SUBPROTOCOL_PREFIX);
    expect(wire.SOCKET_PATH).toBe(protocol.SOCKET_PATH);
    for (const [name, code] of Object.entries(wire.CloseCode)) expect(code).toBe(protocol.CloseCode[name as keyof typeof protocol.CloseCode]);
    for (const text of ['', 'abc', 'é'.repeat(3000), '😀 مرحبا']) expect(wire.utf8Length(text)).toBe(protocol.utf8Length(text));
  });
});
