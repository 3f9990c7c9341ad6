import { json } from '@sveltejs/kit';
import { BUILD } from '../../../build-mark';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = () => json({ ok: true, build: BUILD });
