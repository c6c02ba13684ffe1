import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { quietWorkerLogs } from '../support/jit-harness';
import { testServers } from '../support/servers';

quietWorkerLogs();

const dir = join(__dirname, '..', 'histories');
const histories = readdirSync(dir).filter((file) => file.endsWith('.json'));

// A change that makes the workflow code issue different commands for a recorded history is
// not deterministic: running workflows would fail on deploy. These replays catch it first.
describe('recorded workflow histories', () => {
  test('are present', () => {
    expect(histories.filter((f) => f.startsWith('jit-')).length).toBeGreaterThanOrEqual(5);
    expect(histories.filter((f) => f.startsWith('rotation-')).length).toBeGreaterThanOrEqual(2);
    expect(histories.filter((f) => f.startsWith('incident-')).length).toBeGreaterThanOrEqual(2);
    expect(histories.filter((f) => f.startsWith('campaign-')).length).toBeGreaterThanOrEqual(2);
  });

  test.each(histories)('%s replays without a determinism error', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: testServers().bundlePath } },
      history,
      file,
    );
  });
});
