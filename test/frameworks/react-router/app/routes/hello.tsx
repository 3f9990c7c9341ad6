import { BUILD } from '../../src/build-mark';
import type { Route } from './+types/hello';

export function loader({ params }: Route.LoaderArgs) {
  return { name: params.name, build: BUILD };
}

export function meta() {
  return [{ title: 'gantry test: react-router' }];
}

export default function Hello({ loaderData }: Route.ComponentProps) {
  // One string per text node, so the HTML holds "Hello, <name>!" verbatim.
  return (
    <main>
      <h1>{`Hello, ${loaderData.name}!`}</h1>
      <p>{`build ${loaderData.build}`}</p>
    </main>
  );
}
