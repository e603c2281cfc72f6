// The protocol values the browser needs, without @parley/protocol's runtime (it builds zod schemas at
// import: ~450 KB the browser never uses). wire.spec.ts checks they equal the protocol's own.
export const SUBPROTOCOL = 'parley.v1';
export const TOKEN_SUBPROTOCOL_PREFIX = 'token.';
export const SOCKET_PATH = '/socket';
export const CloseCode = {
  SessionRevoked: 4001,
  TokenInvalid: 4002,
  ServiceRestart: 1012,
} as const;

const encoder = new TextEncoder();
/** Byte length of a UTF-8 string, as the server counts message size limits. */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
