// README's configuration tables, made from the zod schemas the services validate their environment
// with: one row per variable (name, default or "required", the schema's `.describe()` text), written
// between `<!-- env:<section>:start -->` and `<!-- env:<section>:end -->` markers.
import { describeEnv, serviceBaseSchema, type EnvVarDoc } from '@parley/config';
import { migrateConfigSchema } from '@parley/db';
import { adminConfigSchema } from '../../apps/admin/src/config.ts';
import { chatConfigSchema } from '../../apps/chat/src/config.ts';

const baseNames = new Set(Object.keys(serviceBaseSchema.shape));
const ownVariables = (rows: EnvVarDoc[]) => rows.filter((row) => !baseNames.has(row.name));

/** Each README section and its variables: both services' shared ones, then what each adds. */
export const ENV_SECTIONS: Record<string, () => EnvVarDoc[]> = {
  common: () => describeEnv(serviceBaseSchema),
  admin: () => ownVariables(describeEnv(adminConfigSchema)),
  chat: () => ownVariables(describeEnv(chatConfigSchema)),
  migrate: () => describeEnv(migrateConfigSchema),
};

function shownDefault(row: EnvVarDoc): string {
  if (row.required) return '– (required)';
  if (row.defaultValue === undefined) return 'unset';
  if (row.defaultValue === '') return 'empty';
  const v = row.defaultValue;
  return `\`${typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v)}\``;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The markdown table of one section; a variable without a description is an error. */
export function envTable(rows: EnvVarDoc[]): string {
  const lines = ['| Variable | Default | Meaning |', '|---|---|---|'];
  for (const row of rows) {
    if (!row.description) throw new Error(`${row.name} has no description: add .describe('…') to its schema`);
    lines.push(`| \`${row.name}\` | ${cell(shownDefault(row))} | ${cell(row.description)} |`);
  }
  return lines.join('\n');
}

/** `readme` with every section's table regenerated; a missing or unknown marker is an error. */
export function withEnvTables(readme: string): string {
  const seen = new Set<string>();
  const out = readme.replace(/(<!-- env:([a-z]+):start -->\n)[\s\S]*?(<!-- env:\2:end -->)/g, (_all, start: string, section: string, end: string) => {
    const rows = ENV_SECTIONS[section];
    if (!rows) throw new Error(`README has env markers for an unknown section "${section}"`);
    seen.add(section);
    return `${start}${envTable(rows())}\n${end}`;
  });
  const missing = Object.keys(ENV_SECTIONS).filter((section) => !seen.has(section));
  if (missing.length) throw new Error(`README lacks the markers <!-- env:${missing[0]}:start --> … <!-- env:${missing[0]}:end -->`);
  return out;
}
