#!/usr/bin/env node
// Runs the TypeScript sources directly; tsx compiles them on the fly. The worker and the server
// are processes of their own, so the command line never imports them.
require('tsx/cjs');

const entry = { worker: '../workers/main.ts', server: '../server/main.ts' }[process.argv[2]];
if (entry) {
  process.argv.splice(2, 1);
  require(entry);
} else {
  require('../cli/main.ts');
}
