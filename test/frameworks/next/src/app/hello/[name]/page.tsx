import { BUILD } from '@/build-mark';

export default async function HelloPage({ params }: { params: Promise<{ name: string }> }) {
  // App Router hands dynamic segments over still percent-encoded.
  const raw = (await params).name;
  let name = raw;
  try {
    name = decodeURIComponent(raw);
  } catch {}
  // One string per text node, so the HTML holds "Hello, <name>!" verbatim.
  return (
    <main>
      <h1>{`Hello, ${name}!`}</h1>
      <p>{`build ${BUILD}`}</p>
    </main>
  );
}
