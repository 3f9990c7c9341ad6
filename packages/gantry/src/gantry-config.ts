/**
 * The config file's type (gantry.config.ts): every setting of gantry serve, gantry stack and gantry
 * edge, in its typed form or as the string the command line takes, derived from their registries (a
 * setting is declared once), and the lifecycle hooks.
 *
 *   export default defineConfig({ workers: 4, static: ['/static/=static'], hooks: { whenReady: ... } });
 */
import type { Hooks } from './server/hooks.js';
import type { serverSettings } from './server/settings.js';
import type { ConfigInputOf } from './settings/registry.js';
import type { stackSettings } from './stack/settings.js';

export type GantryConfig = ConfigInputOf<typeof serverSettings> &
  ConfigInputOf<typeof stackSettings> & {
    /** Lifecycle hooks: onStarting, whenReady, onReload, onExit (primary); postFork, workerExit (worker). */
    hooks?: Hooks;
  };

/** Types a config file: `export default defineConfig({ workers: 4 })`. */
export function defineConfig(config: GantryConfig): GantryConfig {
  return config;
}
