// What to do when a test's prerequisite (podman, a Node 24 binary) is missing on this machine.
// Under `npm test` (PARLEY_REQUIRE_ALL=1, set by scripts/test.mjs) it fails loudly: a run that passes
// must have run everything. Running vitest directly (the inner loop) skips with the reason printed.
// An explicit opt-out (e.g. PARLEY_SKIP_IMAGE_TESTS=1) still skips, and the summary counts it.

function prerequisitesRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.PARLEY_REQUIRE_ALL === '1';
}

/** Throw (npm test) or skip (inner loop) for a missing prerequisite. */
export function missingPrerequisite(ctx: { skip: (note?: string) => void }, reason: string, optedOut = false): void {
  if (prerequisitesRequired() && !optedOut) {
    throw new Error(`missing test prerequisite: ${reason}. npm test requires it (it installs what it can); fix the machine or opt out explicitly.`);
  }
  console.warn(`SKIPPED: ${reason}`);
  ctx.skip(reason);
}
