// Static rules for the one app Dockerfile (the image smoke test proves it builds and runs). Its images are
// chosen with the APP build argument: the last stage is `FROM ${APP}`, so an app's image is the stage
// named after the app plus the stages that one builds FROM (its chain); the rules about the final image
// apply to that chain.
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

interface AppImage {
  /** The app's stage first, then the stage it builds FROM, and so on up to the base image. */
  chain: Instruction[][];
  violations: string[];
}

function appImage(text: string, app: string): AppImage & { doc: ReturnType<typeof DockerfileParser.parse> } {
  const doc = DockerfileParser.parse(text);
  const froms = doc.getFROMs();
  const instructions = doc.getInstructions();
  const stageOf = (line: number): Instruction[] => {
    const next = froms.map((f) => f.getRange().start.line).find((l) => l > line) ?? Infinity;
    return instructions.filter((i) => i.getRange().start.line > line && i.getRange().start.line < next);
  };
  const byName = new Map(froms.filter((f) => f.getBuildStage()).map((f) => [f.getBuildStage()!, f]));
  const chain: Instruction[][] = [];
  const violations: string[] = [];
  let f = byName.get(app);
  if (!f) violations.push(`no stage named ${app} (FROM ... AS ${app})`);
  const seen = new Set<unknown>();
  while (f && !seen.has(f)) {
    seen.add(f);
    chain.push(stageOf(f.getRange().start.line));
    f = byName.get(f.getImage() ?? '');
  }
  return { doc, chain, violations };
}

/** The image's effective instruction of this kind: the last one in the nearest stage of the chain that has one. */
function effective(chain: Instruction[][], keyword: string): Instruction | undefined {
  for (const stage of chain) {
    const found = stage.filter((i) => i.getKeyword() === keyword).at(-1);
    if (found) return found;
  }
  return undefined;
}

/** The exec-form CMD of an app's image, e.g. ['node', '--enable-source-maps', 'apps/chat/dist/main.js']. */
export function appImageCmd(text: string, app: string): string[] {
  const { chain, violations } = appImage(text, app);
  const cmd = effective(chain, 'CMD');
  if (violations.length || !cmd) throw new Error(`the ${app} image has no CMD${violations.length ? `: ${violations.join('; ')}` : ''}`);
  return JSON.parse(cmd.getArgumentsContent() ?? '') as string[];
}

export function dockerfileViolations(text: string, opts: { app: string; workspacePackageJsons: string[] }): string[] {
  const { doc, chain, violations: out } = appImage(text, opts.app);
  const args = new Map<string, string>();
  const globalArgs = new Set<string>();
  for (const a of doc.getInitialARGs()) {
    for (const p of a.getProperties()) {
      globalArgs.add(p.getName());
      if (p.getValue() !== null) args.set(p.getName(), p.getValue()!);
    }
  }
  const expand = (s: string) => s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, n: string) => args.get(n) ?? '');
  const froms = doc.getFROMs();
  if (froms.length < 2) out.push('not multi-stage');
  const selector = froms.at(-1)?.getImage() ?? '';
  const selectsByApp = /^\$\{?APP\}?$/.test(selector) && globalArgs.has('APP');
  if (!selectsByApp) out.push('the image is not the stage named by the APP build argument (ARG APP before the first FROM, last line FROM ${APP})');
  const stageNames = new Set(froms.map((f) => f.getBuildStage()).filter(Boolean));
  for (const f of froms) {
    const raw = f.getImage() ?? '';
    if (stageNames.has(raw) || (f === froms.at(-1) && selectsByApp)) continue;
    const image = expand(raw);
    if (!/^(docker\.io\/library\/)?node:24\.\d+\.\d+-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$/.test(image)) out.push(`base image ${image} is not the official Node 24 slim image pinned to an exact version`);
  }
  const instructions = doc.getInstructions();
  const finalImage = chain.flat();
  if (chain.length) {
    const user = effective(chain, 'USER')?.getArgumentsContent() ?? '';
    const m = /^(\d+):(\d+)$/.exec(user.trim());
    if (!m) out.push(`final stage USER must be numeric uid:gid, got "${user}"`);
    else if (Number(m[1]) <= 10000 || Number(m[2]) <= 10000) out.push(`final stage USER ${user} must be above 10000`);
    const cmdText = effective(chain, 'CMD')?.getArgumentsContent() ?? '';
    let cmdArgs: unknown = null;
    try { cmdArgs = JSON.parse(cmdText); } catch { /* shell form */ }
    if (!Array.isArray(cmdArgs)) out.push('CMD must be exec form (a JSON array)');
    else if (!cmdArgs.includes(`apps/${opts.app}/dist/main.js`)) out.push(`CMD does not run apps/${opts.app}/dist/main.js`);
  }
  for (const i of instructions) {
    if (i.getKeyword() !== 'ENV' && i.getKeyword() !== 'ARG') continue;
    for (const p of (i as unknown as { getProperties(): { getName(): string; getValue(): string | null }[] }).getProperties()) {
      if (/SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|DATABASE_URL|REDIS_URL/i.test(p.getName()) && p.getValue()) out.push(`${i.getKeyword()} ${p.getName()} bakes a secret or connection string into the image`);
    }
  }
  for (const i of finalImage) {
    const content = i.getArgumentsContent() ?? '';
    // The whole instruction, flags included (the arguments leave out --from=...).
    const line = i.getTextContent();
    if (i.getKeyword() === 'COPY' && !/--from=/.test(line) && /^\.\s+\.?\/?\S*$/.test(content.trim())) out.push('final stage copies the whole build context');
    if (i.getKeyword() === 'COPY' && /--from=build\s.*node_modules/.test(line)) out.push('final stage copies node_modules from the build stage (dev dependencies included)');
    if (i.getKeyword() === 'RUN' && /npm (ci|install)(?![^&]*--omit=dev)/.test(content)) out.push('final stage installs dependencies including dev ones');
  }
  const prodInstalls = instructions.filter((i) => i.getKeyword() === 'RUN' && /npm ci[^&]*--omit=dev/.test(i.getArgumentsContent() ?? ''));
  if (!prodInstalls.length) out.push('no production-only dependency install (npm ci --omit=dev)');
  else if (!prodInstalls.some((i) => /npm ci[^&]*--omit=dev[^&]*--workspace[= ]"?apps\/\$\{?APP\}?"?/.test(i.getArgumentsContent() ?? ''))) {
    out.push('the production install is not limited to the app\'s workspace (--workspace apps/$APP): every app\'s dependencies would ship');
  }
  for (const pj of opts.workspacePackageJsons) {
    if (!instructions.some((i) => i.getKeyword() === 'COPY' && (i.getArgumentsContent() ?? '').includes(pj))) out.push(`${pj} is not copied before npm ci (the lockfile names every workspace)`);
  }
  return out;
}

export function dockerignoreViolations(text: string): string[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const need: [string, RegExp][] = [
    ['node_modules', /^(\*\*\/)?node_modules\/?$/],
    ['.git', /^\.git\/?$/],
    ['secrets.env', /^(\*\*\/)?secrets\.env$/],
    ['.data', /^\.data\/?$/],
    ['dist', /^(\*\*\/)?dist\/?$/],
  ];
  return need.filter(([, re]) => !lines.some((l) => re.test(l))).map(([what]) => `.dockerignore does not exclude ${what}`);
}
