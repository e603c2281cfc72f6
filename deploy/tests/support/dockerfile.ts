// Static rules for the app Dockerfiles (the image smoke test proves they build and run).
import { DockerfileParser } from 'dockerfile-ast';

export function dockerfileViolations(text: string, opts: { app: string; workspacePackageJsons: string[] }): string[] {
  const out: string[] = [];
  const doc = DockerfileParser.parse(text);
  const args = new Map<string, string>();
  for (const a of doc.getInitialARGs()) for (const p of a.getProperties()) if (p.getValue() !== null) args.set(p.getName(), p.getValue()!);
  const expand = (s: string) => s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, n: string) => args.get(n) ?? '');
  const froms = doc.getFROMs();
  if (froms.length < 2) out.push('not multi-stage');
  const stageNames = new Set(froms.map((f) => f.getBuildStage()).filter(Boolean));
  for (const f of froms) {
    const image = expand(f.getImage() ?? '');
    if (stageNames.has(image)) continue;
    if (!/^(docker\.io\/library\/)?node:24\.\d+\.\d+-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$/.test(image)) out.push(`base image ${image} is not the official Node 24 slim image pinned to an exact version`);
  }
  const instructions = doc.getInstructions();
  const lastFrom = froms.at(-1);
  const finalStage = instructions.filter((i) => lastFrom && i.getRange().start.line > lastFrom.getRange().start.line);
  const user = finalStage.filter((i) => i.getKeyword() === 'USER').at(-1)?.getArgumentsContent() ?? '';
  const m = /^(\d+):(\d+)$/.exec(user.trim());
  if (!m) out.push(`final stage USER must be numeric uid:gid, got "${user}"`);
  else if (Number(m[1]) <= 10000 || Number(m[2]) <= 10000) out.push(`final stage USER ${user} must be above 10000`);
  const cmd = doc.getCMDs().at(-1);
  const cmdText = cmd?.getArgumentsContent() ?? '';
  let cmdArgs: unknown = null;
  try { cmdArgs = JSON.parse(cmdText); } catch { /* shell form */ }
  if (!Array.isArray(cmdArgs)) out.push('CMD must be exec form (a JSON array)');
  else if (!cmdArgs.includes(`apps/${opts.app}/dist/main.js`)) out.push(`CMD does not run apps/${opts.app}/dist/main.js`);
  for (const i of instructions) {
    if (i.getKeyword() !== 'ENV' && i.getKeyword() !== 'ARG') continue;
    for (const p of (i as unknown as { getProperties(): { getName(): string; getValue(): string | null }[] }).getProperties()) {
      if (/SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|DATABASE_URL|REDIS_URL/i.test(p.getName()) && p.getValue()) out.push(`${i.getKeyword()} ${p.getName()} bakes a secret or connection string into the image`);
    }
  }
  for (const i of finalStage) {
    if (i.getKeyword() === 'COPY' && !/--from=/.test(i.getArgumentsContent() ?? '') && /^\.\s+\.?\/?\S*$/.test((i.getArgumentsContent() ?? '').trim())) out.push('final stage copies the whole build context');
    if (i.getKeyword() === 'RUN' && /npm (ci|install)(?![^&]*--omit=dev)/.test(i.getArgumentsContent() ?? '')) out.push('final stage installs dependencies including dev ones');
  }
  const prodInstall = instructions.some((i) => i.getKeyword() === 'RUN' && /npm ci[^&]*--omit=dev/.test(i.getArgumentsContent() ?? ''));
  if (!prodInstall) out.push('no production-only dependency install (npm ci --omit=dev)');
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
