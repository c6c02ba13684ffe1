#!/usr/bin/env node
// Makes sure a Temporal CLI (and so its dev server) is available, building it with Go if needed.
require('tsx/cjs');
const { findTemporalCli, resolveTemporalExecutable } = require('../integrations/temporal/executable.ts');

(async () => {
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
