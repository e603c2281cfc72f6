// The browser bundle is type-checked without Node's types and the server code without the DOM
// (tsconfig.browser.json, tsconfig.server.json). A type import can drag them back in unnoticed (a client
// file importing a type from a module that imports @parley/db brings pg and with it all of @types/node),
// so this looks at what each program really contains.
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

function programFiles(configPath: string): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  // Resolving imports is enough to list the files; nothing is type-checked here.
  return ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options }).getSourceFiles().map((f) => f.fileName);
}

const nodeTypes = (files: string[]) => files.filter((f) => f.includes('/node_modules/@types/node/'));
const domLib = (files: string[]) => files.filter((f) => /\/lib\.dom(\.iterable)?\.d\.ts$/.test(f));

describe('tsconfig split', () => {
  it('checks the browser client with the DOM and without Node types', { timeout: 60_000 }, () => {
    const files = programFiles('tsconfig.browser.json');
    expect(files.some((f) => f.includes('/apps/admin/src/client/'))).toBe(true);
    expect(domLib(files)).not.toEqual([]);
    expect(nodeTypes(files)).toEqual([]);
  });

  it('checks the server code with Node types and without the DOM', { timeout: 60_000 }, () => {
    const files = programFiles('tsconfig.server.json');
    expect(files.some((f) => f.includes('/apps/chat/src/'))).toBe(true);
    expect(nodeTypes(files)).not.toEqual([]);
    expect(domLib(files)).toEqual([]);
  });
});
