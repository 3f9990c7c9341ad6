import type { APIRoute } from 'astro';
import { BUILD } from '../../build-mark';

export const GET: APIRoute = () => Response.json({ ok: true, build: BUILD });
