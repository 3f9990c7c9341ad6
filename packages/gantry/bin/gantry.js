#!/usr/bin/env node
// The gantry command; the code is compiled from src/ into dist/ (npm run build).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
