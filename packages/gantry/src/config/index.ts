/** gantry/config: environment-selected, typed app configuration (see define.ts and load.ts). */
export {
  type Primitive,
  type Required,
  type Settings,
  type SettingsDefinition,
  type Values,
  defineSettings,
  isSettings,
  required,
} from './define.js';
export {
  type Config,
  type ConfigEntry,
  type ConfigReport,
  type LoadOptions,
  ConfigError,
  REDACTED,
  describeValueSource,
  displayValue,
  inspectConfig,
  loadConfig,
  maskUrlPassword,
} from './load.js';
