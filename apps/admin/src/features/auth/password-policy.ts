// Password strength: at least 12 characters and a zxcvbn score of 3 or more ("safely unguessable":
// about 10^8 guesses or more), which refuses common passwords, repeats (aaaaaaaaaaaa), sequences,
// keyboard walks and passwords built from the person's own e-mail or handle. One rule for sign-up,
// password change and the bootstrap admin.
import zxcvbnCore from '@zxcvbn-ts/core';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 200;
const MIN_SCORE = 3;

// Loading the dictionaries takes a few hundred ms: do it on first use, once.
let checker: InstanceType<typeof zxcvbnCore.ZxcvbnFactory> | null = null;
function strength() {
  checker ??= new zxcvbnCore.ZxcvbnFactory({ dictionary: zxcvbnCommon.dictionary, graphs: zxcvbnCommon.adjacencyGraphs });
  return checker;
}

const WARNINGS: Record<string, string> = {
  simpleRepeat: 'Repeated characters like "aaa" are easy to guess.',
  extendedRepeat: 'Repeated patterns like "abcabc" are easy to guess.',
  sequences: 'Sequences like "abcdef" or "123456" are easy to guess.',
  keyPattern: 'Keyboard patterns like "qwerty" are easy to guess.',
  straightRow: 'A row of keys on the keyboard is easy to guess.',
  topTen: 'This is one of the most used passwords.',
  topHundred: 'This is a very common password.',
  common: 'This is a common password.',
  similarToCommon: 'This is too close to a common password.',
  recentYears: 'Recent years are easy to guess.',
  dates: 'Dates are easy to guess.',
  userInputs: 'Do not use your e-mail, handle or name in the password.',
};

/** null when the password is acceptable, else a sentence telling the person what to change. */
export function passwordProblem(password: string, personal: string[] = []): string | null {
  if (password.length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (password.length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  // Published placeholders (deploy/k8s secrets.env.example) must never become a real password.
  if (/change-?me/i.test(password)) return 'This is an example password from the documentation. Choose your own.';
  const inputs = personal.flatMap((p) => [p, ...p.split(/[@._\s-]+/)]).filter((p) => p.length >= 3);
  const result = strength().check(password.slice(0, 100), ['parley', ...inputs]);
  if (result.score >= MIN_SCORE) return null;
  const why = (result.feedback.warning && WARNINGS[result.feedback.warning]) || 'This password is too easy to guess.';
  return `${why} Try a few unrelated words, or a longer mix of letters, digits and symbols.`;
}
