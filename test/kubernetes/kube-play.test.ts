/**
 * The dev overlay's pods, run for real as far as this machine can: `podman kube play` (podman 4.3, no
 * cluster) of the rendered web Deployment and the PostgreSQL StatefulSet's container, with the images
 * the container test builds, then real requests, the migrate Job's command run for real, and teardown.
 *
 * What podman 4.3 cannot run is adapted here, and only here (docs/kubernetes.md lists it): one Pod for
 * both (kube play has no Services: they meet on localhost), the Secret as a ConfigMap (4.3 mounts Secret
 * data still base64-encoded), the Job's command run in the web container (no Job kind), a hostPort for
 * web's port, images never pulled, and the dev database run as the official image expects to start
 * (root, then its own user: podman's emptyDir volumes are root-owned). Readiness, startup probes,
 * preStop and the grace period are not run by podman at all: the test asks the endpoints itself.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument --
   the rendered manifests are untyped YAML (manifests.test.ts checks their shape). */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dump, loadAll } from 'js-yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from '../../packages/gantry/test/helpers/http.js';
import { REPO_ROOT, freePort } from '../../packages/gantry/test/helpers/process.js';
import { describeWith, onPath, requirement } from '../../packages/gantry/test/helpers/requirements.js';
import { type Engine, compose, startEngine } from '../containers/harness.js';

const run = promisify(execFile);
const podman = requirement(
  (await onPath('podman')) && (await onPath('kubectl')),
  'podman and kubectl (the container kit, ../shared/containers)',
);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered YAML, see the top
type K8sObject = Record<string, any>;

const POD = 'gantry-smoke';
let engine: Engine | undefined;
let playFile = '';
let webPort = 0;

/** The dev overlay, adapted for podman 4.3 (see the header): one Pod, a ConfigMap for the Secret. */
async function smokePod(): Promise<string> {
  const { stdout } = await run('kubectl', ['kustomize', join(REPO_ROOT, 'deploy/kubernetes/overlays/dev')]);
  const objects = loadAll(stdout) as K8sObject[];
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
  const web = find('Deployment', 'web');
  const postgres = find('StatefulSet', 'postgres');
  const secret = find('Secret', 'gantry-database');
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('app-config-'))!;
  // The Services' names become localhost: both containers share the Pod's network.
  const database = Object.fromEntries(
    Object.entries(secret.data as Record<string, string>).map(([key, value]) => [
      key,
      Buffer.from(value, 'base64').toString('utf8').replace('@postgres:', '@127.0.0.1:'),
    ]),
  );
  const asConfigMap = (volumes: K8sObject[]) =>
    volumes.map((volume) => (volume.secret ? { name: volume.name, configMap: { name: 'gantry-database' } } : volume));
  const webContainer = web.spec.template.spec.containers[0];
  webContainer.imagePullPolicy = 'Never';
  webContainer.image = 'docker.io/library/gantry-example-web:latest';
  webContainer.ports = [{ name: 'http', containerPort: 8080, hostPort: webPort }];
  const postgresContainer = postgres.spec.template.spec.containers[0];
  postgresContainer.imagePullPolicy = 'Never';
  postgresContainer.image = 'docker.io/library/postgres:18-bookworm';
  delete postgresContainer.ports;
  postgresContainer.securityContext = { allowPrivilegeEscalation: false };
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: POD },
    spec: {
      ...web.spec.template.spec,
      securityContext: {},
      containers: [postgresContainer, webContainer],
      volumes: [...asConfigMap(web.spec.template.spec.volumes), { name: 'run', emptyDir: {} }, { name: 'data', emptyDir: {} }],
    },
  };
  const documents = [
    { ...config, metadata: { name: config.metadata.name } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gantry-database' }, data: database },
    pod,
  ];
  const dir = await mkdtemp(join(tmpdir(), 'gantry-kube-play-'));
  const file = join(dir, 'smoke.yaml');
  await writeFile(file, documents.map((document) => dump(document)).join('---\n'));
  return file;
}

describeWith(podman, 'the dev overlay on podman kube play', () => {
  beforeAll(async () => {
    engine = await startEngine();
    await compose(engine, ['build', 'web']);
    // Its healthcheck driver would run podman's translation of the liveness probe, a curl the image does
    // not have, and fail the container: the test asks the endpoints itself instead.
    engine.close();
    webPort = await freePort();
    playFile = await smokePod();
    await run('podman', ['kube', 'play', playFile], { env: engine.env });
  }, 900_000);

  afterAll(async () => {
    if (!playFile) return;
    await run('podman', ['kube', 'down', playFile]).catch(() => {});
    // podman 4.3 keeps the volume it made for the ConfigMap after `kube down`; a later run must not reuse it.
    await run('podman', ['volume', 'rm', '-f', 'gantry-database']).catch(() => {});
  });

  it('serves the app from the rendered pod, unready until the migrate Job runs, then ready and writing rows', async () => {
    const url = `http://127.0.0.1:${webPort}`;
    await expect
      .poll(async () => (await request(`${url}/_gantry/live`).catch(() => ({ status: 0 }))).status, { timeout: 60_000 })
      .toBe(200);
    const unready = await request(`${url}/_gantry/ready`);
    expect(unready.status).toBe(503);
    expect(unready.body).toMatch(/schema: \d+ migration\(s\) not applied/);

    const { stdout: migrated } = await run('podman', [
      'exec',
      '-e',
      'DB_CONNECTION_STRING_FILE=/etc/gantry/database/owner-connection-string',
      `${POD}-web`,
      'node',
      'dist/src/db/migrate.js',
    ]);
    expect(migrated).toMatch(/applied/);
    await expect.poll(async () => (await request(`${url}/_gantry/ready`)).status, { timeout: 30_000 }).toBe(200);

    const posted = await request(`${url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ author: 'kube', body: 'from a rendered pod' }),
    });
    expect(posted.status).toBe(201);
    const listed = JSON.parse((await request(`${url}/api/messages`)).body) as { messages: { body: string }[] };
    expect(listed.messages.map((m) => m.body)).toEqual(['from a rendered pod']);
    // The pod's settings came from the generated ConfigMap: workers auto, from the container's CPU quota.
    const { stdout, stderr } = await run('podman', ['logs', `${POD}-web`]);
    expect(stdout + stderr).toMatch(/workers auto: the CPU quota, 2 CPUs|workers auto: \d+ CPUs available/);
  }, 180_000);
});
