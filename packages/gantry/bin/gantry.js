#!/usr/bin/env node
// The gantry command; the code is compiled from src/ into dist/ (npm run build).
import { main } from '../dist/cli/main.js';

// Exit with the code main() resolves with, even if a stray handle (a hook's timer, a hung app) is left.
process.exit(await main(process.argv.slice(2)));
