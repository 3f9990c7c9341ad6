import { BUILD } from '../../../build-mark';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = ({ params }) => ({ name: params.name, build: BUILD });
