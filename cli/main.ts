import { Command, Option } from 'commander';
import { registerAccessCommands } from './commands/access';
import { registerAdminCommands } from './commands/admin';
import { registerCampaignCommands } from './commands/campaign';
import { registerDevCommand } from './commands/dev';
import { registerIncidentCommands } from './commands/incident';
import { registerRotationCommands } from './commands/rotation';
import { CliError } from './api';

const program = new Command('keyward')
  .description(
    'Access lifecycle as durable workflows: just-in-time elevation, credential rotation, certification, audit.',
  )
  .addOption(
    new Option('--as <identity>', 'act as this identity, with its token from the dev stack'),
  )
  .addOption(
    new Option('--api-url <url>', 'keyward API URL (default: KEYWARD_API_URL, then the dev stack)'),
  )
  .addOption(
    new Option(
      '--data-dir <dir>',
      'dev stack data directory (default: KEYWARD_DATA_DIR or .keyward)',
    ),
  )
  .option('--json', 'print JSON for scripts')
  .showHelpAfterError();

registerDevCommand(program);
registerAccessCommands(program);
registerAdminCommands(program);
registerRotationCommands(program);
registerIncidentCommands(program);
registerCampaignCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`keyward: ${message}\n`);
  process.exit(err instanceof CliError ? 1 : 2);
});
