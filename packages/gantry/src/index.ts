/** gantry: the public API for config files and apps. The app configuration library is gantry/config. */
export { type GantryConfig, defineConfig } from './gantry-config.js';
export type { ServerSettings, LogLevel, LogFormat } from './server/settings.js';
export type { BindAddress } from './server/bind.js';
export type { AppContext, NodeListener } from './server/app/load.js';
export type { FetchApp, NodeBindings } from './server/app/fetch.js';
export type { JobContext, JobWorker } from './server/app/job-worker.js';
export { setRoute } from './server/http/route.js';
export type { UpgradeHandler } from './server/http/service.js';
export { ErrorCode, ExitCode, GantryError } from './errors.js';
