/**
 * The seed's app/config/settings.py: one profile per environment, each inheriting the base values.
 * APP_ENV picks the profile (default Dev); every key can be overridden by the environment variable of
 * the same name, or by <KEY>_FILE naming a file that holds the value (Docker secrets).
 */
import { defineSettings } from 'gantry/config';

export const settings = defineSettings({
  base: {
    DB_CONNECTION_STRING: 'BASE DB STRING',
    MSG: 'Inside BASE CONFIG',
    // Logs: one JSON object per line for machines, or readable lines for people (gantry's and the app's).
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
  },
  profiles: {
    Dev: {
      DB_CONNECTION_STRING: 'DEV DB STRING',
      MSG: 'Inside DEV CONFIG',
      LOG_FORMAT: 'text',
    },
    Production: {
      DB_CONNECTION_STRING: 'PRODUCTION DB STRING',
      MSG: 'Inside PRODUCTION CONFIG',
    },
  },
  // A real connection string carries credentials: never printed by gantry config or in logs.
  secrets: ['DB_CONNECTION_STRING'],
});
