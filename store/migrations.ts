import type { Migration, MigrationProvider } from 'kysely';
import { accessMigrations } from './migrations-access';
import { campaignsMigrations } from './migrations-campaigns';
import { credentialsMigrations } from './migrations-credentials';
import { incidentsMigrations } from './migrations-incidents';

// Migrations live in code, one module per area; a migration that has run is never edited, only
// followed. Kysely runs them in the order of their names, which begin with the day each was
// written, and the list is assembled in that same order.
const migrations = inNameOrder(
  accessMigrations,
  credentialsMigrations,
  incidentsMigrations,
  campaignsMigrations,
);

/** Every area's migrations in one list; two areas using one name would lose one of them. */
function inNameOrder(...areas: Record<string, Migration>[]): Record<string, Migration> {
  const entries = areas.flatMap((area) => Object.entries(area));
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  entries.forEach(([name], i) => {
    if (i > 0 && entries[i - 1][0] === name) throw new Error(`two migrations are named ${name}`);
  });
  return Object.fromEntries(entries);
}

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
