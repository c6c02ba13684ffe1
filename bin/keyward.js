#!/usr/bin/env node
// Runs the TypeScript sources directly; tsx compiles them on the fly.
require('tsx/cjs');
require('../cli/main.ts');
