import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { PROJECT_ROOT } from '../../integrations/temporal/executable';
import { loadPolicyFile } from '../../integrations/policy/load';
import { dataDirOf } from '../api';
import type { GlobalOptions } from '../api';
import { startStack } from '../dev/stack';

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65_535)
    throw new Error(`"${value}" is not a port number`);
  return n;
};

/** `keyward dev`: the whole system in the foreground on embedded defaults. */
export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description(
      'start PostgreSQL, Temporal, the worker and the API in the foreground (Ctrl-C stops all)',
    )
    .option('--policy <file>', 'policy file (default: keyward.example.yaml)')
    .option('--api-port <port>', 'API port', port, 8088)
    .option('--temporal-port <port>', 'Temporal dev server port', port, 7233)
    .option('--ui-port <port>', 'Temporal UI port', port, 8233)
    .option('--pg-port <port>', 'embedded PostgreSQL port', port, 54329)
    .action(async (_: unknown, command: Command) => {
      const options = command.optsWithGlobals<
        GlobalOptions & Record<string, number | string | undefined>
      >();
      const dataDir = dataDirOf(options);
      const policyFile = resolve(String(options.policy ?? defaultPolicy()));
      const policy = loadPolicyFile(policyFile);
      const log = (line: string) => process.stdout.write(`${line}\n`);

      const { info, stop } = await startStack({
        dataDir,
        policyFile,
        policy,
        apiPort: Number(options.apiPort),
        temporalPort: Number(options.temporalPort),
        uiPort: Number(options.uiPort),
        pgPort: Number(options.pgPort),
        log,
      });
      const requester =
        policy.identities.find((i) => i.kind === 'human')?.id ?? policy.identities[0].id;
      const entitlement = policy.entitlements[0]?.id ?? '<entitlement>';
      const admin =
        policy.groups.find((g) => g.id === policy.settings.adminGroup)?.members[0] ?? requester;
      // The CLI finds the stack through its data directory; a non-default one must be named.
      const where = dataDir === resolve('.keyward') ? '' : ` --data-dir ${dataDir}`;
      const tries = [
        `request ${entitlement} --for 30m --reason "investigate ticket 4411" --as ${requester}`,
      ];
      const credential = policy.credentials[0];
      if (credential) {
        tries.push(
          `rotation list --as ${admin}`,
          `secret get ${credential.id} --as ${credential.identity}`,
        );
      }
      log(`
keyward is running (data in ${dataDir})
  API          ${info.apiUrl}
  Temporal     ${info.temporalAddress}
  Temporal UI  ${info.temporalUiUrl ?? '(external Temporal)'}
  targets      ${Object.keys(info.targets).join(', ') || '(none embedded)'}
  endpoints    ${join(dataDir, 'stack.json')}

Try, in another terminal:
${tries.map((line) => `  npx keyward ${line}${where}`).join('\n')}

Ctrl-C stops everything.`);

      let stopping = false;
      const shutdown = () => {
        if (stopping) return;
        stopping = true;
        log('Stopping keyward...');
        void stop().then(() => process.exit(process.exitCode ?? 0));
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
    });
}

function defaultPolicy(): string {
  const local = resolve('keyward.example.yaml');
  return existsSync(local) ? local : join(PROJECT_ROOT, 'keyward.example.yaml');
}
