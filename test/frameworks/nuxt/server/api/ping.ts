import { BUILD } from '~~/src/build-mark';

export default defineEventHandler(() => ({ ok: true, build: BUILD }));
