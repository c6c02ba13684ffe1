#!/usr/bin/env node
// Makes sure what the test suite needs is on the machine: a Temporal CLI (and so its dev server),
// built with Go if needed, and Debian's chromium for the browser test of the review page.
require('tsx/cjs');
const { existsSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const { findTemporalCli, resolveTemporalExecutable } = require('../integrations/temporal/executable.ts');

const CHROMIUM = '/usr/bin/chromium';

/** Installs chromium with apt-get when it is missing; says what to do where that is not possible. */
function ensureChromium() {
  if (existsSync(CHROMIUM)) {
    console.log(`Chromium: ${CHROMIUM}`);
    return;
  }
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!hasApt || !root) {
    console.error(
      `Chromium: ${CHROMIUM} is missing and cannot be installed here (${hasApt ? 'not root' : 'no apt-get'}). ` +
        'Install it as root with: apt-get update && apt-get install -y chromium',
    );
    process.exitCode = 1;
    return;
  }
  console.log("Chromium: installing Debian's chromium with apt-get");
  for (const args of [['update'], ['install', '-y', 'chromium']]) {
    const result = spawnSync('apt-get', args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed`);
  }
}

(async () => {
  ensureChromium();
  const existing = findTemporalCli();
  if (existing) {
    console.log(`Temporal CLI: ${existing}`);
    return;
  }
  const executable = await resolveTemporalExecutable((line) => console.log(line));
  console.log(executable.type === 'existing-path' ? `Temporal CLI: ${executable.path}` : 'Temporal CLI: SDK download');
})().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
