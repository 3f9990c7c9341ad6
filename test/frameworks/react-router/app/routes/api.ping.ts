import { BUILD } from '../../src/build-mark';

export function loader() {
  return Response.json({ ok: true, build: BUILD });
}
