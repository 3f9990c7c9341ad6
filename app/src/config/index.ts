/**
 * The seed's app/config/__init__.py: the configuration for this environment, resolved once at start.
 * A mistake (unknown APP_ENV, a value of the wrong type) stops the server with every problem listed.
 */
import { loadConfig } from 'gantry/config';
import { settings } from './settings.js';

export const config = loadConfig(settings);
