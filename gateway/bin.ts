#!/usr/bin/env node
// The installed `mxhook` command. It checks the Node.js version before loading the command itself,
// so an older Node prints one line naming the version needed instead of failing on a newer API or
// syntax somewhere in the import graph; this module and node-version.ts stay loadable by any Node
// that runs ES modules.
import { nodeVersionProblem } from './node-version.ts';

const problem = nodeVersionProblem(process.versions.node);
if (problem === undefined) {
  await import('./cli.ts');
} else {
  process.stderr.write(`mxhook: ${problem}\n`);
  process.exitCode = 1;
}
