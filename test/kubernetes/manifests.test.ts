/**
 * deploy/kubernetes, offline: every overlay rendered by `kubectl kustomize`, every object validated
 * against the Kubernetes API's schemas (kubernetes-models; the CRDs' from their packages), a strict check
 * that rejects a field the API does not have (the schemas accept unknown ones: a `readinesProbe` typo
 * would pass), and the policies a platform engineer checks on first read. `npm run test:kubernetes`.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument --
   the rendered manifests are untyped YAML: the schemas above check their shape, these tests read them field by field. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as kubernetesClient from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../packages/gantry/test/helpers/process.js';
import { onPath, requirement } from '../../packages/gantry/test/helpers/requirements.js';
import { stopBudgetMs } from '../../packages/gantry/src/server/messages.js';

const run = promisify(execFile);
const KUSTOMIZE = join(REPO_ROOT, 'deploy/kubernetes');
const OVERLAYS = ['dev', 'production', 'production-operators'];
/** The images the repository builds (app/Dockerfile, nginx/Dockerfile), and the dev overlay's database. */
const OUR_IMAGES = ['gantry-example-web', 'gantry-example-nginx'];
const DEV_DATABASE_IMAGE = 'postgres:18-bookworm';

const kubectl = requirement(await onPath('kubectl'), 'kubectl with kustomize (https://kubernetes.io/docs/tasks/tools/)');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered YAML, see the top
type K8sObject = Record<string, any> & { apiVersion: string; kind: string; metadata: { name: string } };

async function render(overlay: string): Promise<K8sObject[]> {
  const { stdout } = await run('kubectl', ['kustomize', join(KUSTOMIZE, 'overlays', overlay)], { maxBuffer: 16 * 1024 * 1024 });
  const objects = loadAll(stdout) as K8sObject[];
  // kustomize folds a long base64 value into lines; the API server's decoder skips the newlines (Go's
  // base64), kubernetes-models' "byte" format does not: unfolded for the schema check.
  for (const object of objects) {
    if (object.kind !== 'Secret' || !object.data) continue;
    object.data = Object.fromEntries(
      Object.entries(object.data as Record<string, string>).map(([key, value]) => [key, value.replace(/\s/g, '')]),
    );
  }
  return objects;
}

/** kubernetes-models' class for each kind: its validate() checks the object against the API's schema. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

/** The official client's catalogue of each type's fields (its models deserialise; only the catalogue is used). */
interface FieldType {
  readonly baseName: string;
  readonly type: string;
}
const clientModels = kubernetesClient as unknown as Record<string, { attributeTypeMap?: readonly FieldType[] } | undefined>;

/** The client library's model of a built-in kind (V1Deployment, V2HorizontalPodAutoscaler), if it has one. */
function clientModelName({ apiVersion, kind }: K8sObject): string | undefined {
  const version = apiVersion.split('/').at(-1) ?? '';
  const name = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  return clientModels[name]?.attributeTypeMap ? name : undefined;
}

/** Every field the API does not have, by its path: the official client's models list each type's fields. */
function unknownFields(value: unknown, type: string, path: string): string[] {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((item, i) => unknownFields(item, array[1]!, `${path}[${i}]`)) : [];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    return typeof value === 'object' && value !== null
      ? Object.entries(value).flatMap(([key, item]) => unknownFields(item, map[1]!, `${path}.${key}`))
      : [];
  }
  const fields = clientModels[type]?.attributeTypeMap;
  if (!fields || typeof value !== 'object' || value === null) return [];
  const byName = new Map(fields.map((field) => [field.baseName, field.type]));
  return Object.entries(value).flatMap(([key, item]) => {
    const fieldType = byName.get(key);
    return fieldType === undefined
      ? [`${path}.${key} (no such field in ${type})`]
      : unknownFields(item, fieldType, `${path}.${key}`);
  });
}

const workloads = (objects: readonly K8sObject[]) => objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
const podSpec = (workload: K8sObject) => workload.spec.template.spec;
const containersOf = (workload: K8sObject): K8sObject[] => [
  ...(podSpec(workload).initContainers ?? []),
  ...podSpec(workload).containers,
];
const label = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

function selects(selector: { matchLabels?: Record<string, string> }, labels: Record<string, string>): boolean {
  return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

describe.each(OVERLAYS)('deploy/kubernetes/overlays/%s', (overlay) => {
  if (!kubectl.available) return void it.skip(`needs ${kubectl.what}`, () => {});
  const rendered = render(overlay);

  it('renders, and every object passes the Kubernetes API schema of its kind, with no unknown field', async () => {
    const objects = await rendered;
    expect(objects.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const object of objects) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      if (!Model) {
        problems.push(`${label(object)}: no schema for ${object.apiVersion} ${object.kind}`);
        continue;
      }
      try {
        new Model(object as never).validate();
      } catch (error) {
        problems.push(`${label(object)}: ${(error as Error).message}`);
      }
      const model = clientModelName(object);
      if (model) problems.push(...unknownFields(object, model, label(object)));
    }
    expect(problems).toEqual([]);
  });

  it('gives every container probes (long-running ones), requests and limits, non-root, a read-only root, no capabilities', async () => {
    const problems: string[] = [];
    for (const workload of workloads(await rendered)) {
      const pod = podSpec(workload);
      if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${label(workload)}: not runAsNonRoot`);
      if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault')
        problems.push(`${label(workload)}: no RuntimeDefault seccomp`);
      if (pod.automountServiceAccountToken !== false) problems.push(`${label(workload)}: mounts a service account token`);
      for (const container of containersOf(workload)) {
        const where = `${label(workload)} ${container.name}`;
        const { resources = {}, securityContext = {} } = container;
        for (const kind of ['requests', 'limits'])
          for (const resource of ['cpu', 'memory'])
            if (resources[kind]?.[resource] === undefined) problems.push(`${where}: no ${kind}.${resource}`);
        if (securityContext.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem writable`);
        if (securityContext.allowPrivilegeEscalation !== false) problems.push(`${where}: privilege escalation allowed`);
        if (!securityContext.capabilities?.drop?.includes('ALL')) problems.push(`${where}: capabilities not all dropped`);
        const mounts: string[] = (container.volumeMounts ?? []).map((m: { mountPath: string }) => m.mountPath);
        if (!mounts.includes('/tmp')) problems.push(`${where}: no writable /tmp`);
        if (workload.kind !== 'Job')
          for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
            if (!container[probe]) problems.push(`${where}: no ${probe}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("probes gantry's own answers: live for startup and liveness, ready for readiness", async () => {
    const deployments = (await rendered).filter((o) => o.kind === 'Deployment' && o.metadata.name !== 'nginx');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['jobs', 'web']);
    for (const deployment of deployments) {
      const [container] = containersOf(deployment);
      const prefix = deployment.metadata.name === 'web' ? '/_gantry' : '';
      expect(container?.startupProbe.httpGet.path).toBe(`${prefix}/live`);
      expect(container?.livenessProbe.httpGet.path).toBe(`${prefix}/live`);
      expect(container?.readinessProbe.httpGet.path).toBe(`${prefix}/ready`);
    }
  });

  it("gives each gantry pod the grace its stop needs: preStop + gantry's stop budget for graceful-timeout", async () => {
    const objects = await rendered;
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('app-config-'));
    const graceful = Number(config?.data.GANTRY_GRACEFUL_TIMEOUT);
    expect(graceful).toBeGreaterThan(0);
    for (const name of ['web', 'jobs']) {
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)!;
      const [container] = containersOf(deployment);
      const preStop = Number(container?.lifecycle?.preStop?.sleep?.seconds ?? 0);
      const needed = preStop + stopBudgetMs(graceful) / 1000;
      expect(
        podSpec(deployment).terminationGracePeriodSeconds,
        `${name}: preStop ${preStop} s + stop budget`,
      ).toBeGreaterThanOrEqual(needed);
    }
    // web leaves the endpoints before it stops accepting.
    const web = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'web')!;
    expect(containersOf(web)[0]?.lifecycle.preStop.sleep.seconds).toBeGreaterThanOrEqual(5);
  });

  it('rolls out one pod at a time with none taken away first, and has a PodDisruptionBudget per Deployment', async () => {
    const objects = await rendered;
    const budgets = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
      expect(deployment.spec.strategy, label(deployment)).toEqual({
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
      const labels = deployment.spec.template.metadata.labels as Record<string, string>;
      expect(
        budgets.filter((b) => selects(b.spec.selector, labels)),
        `${label(deployment)}'s PDB`,
      ).toHaveLength(1);
    }
  });

  it('runs only the images the repository builds (and the dev database), and every ConfigMap and Secret it names', async () => {
    const objects = await rendered;
    const images = workloads(objects).flatMap((w) => containersOf(w).map((c) => c.image as string));
    for (const image of images) {
      const name = image.split('/').at(-1)!.split(':')[0]!;
      if (image === DEV_DATABASE_IMAGE && overlay === 'dev') continue;
      expect(OUR_IMAGES, image).toContain(name);
    }
    const names = (kind: string) => new Set(objects.filter((o) => o.kind === kind).map((o) => o.metadata.name));
    const configMaps = names('ConfigMap');
    const secrets = names('Secret');
    for (const workload of workloads(objects)) {
      const pod = podSpec(workload);
      for (const container of containersOf(workload))
        for (const source of container.envFrom ?? [])
          if (source.configMapRef) expect(configMaps, label(workload)).toContain(source.configMapRef.name);
      for (const volume of pod.volumes ?? []) {
        // Production's database Secret is made outside the repository (docs/kubernetes.md), on purpose.
        if (volume.secret && overlay === 'dev') expect(secrets, label(workload)).toContain(volume.secret.secretName);
        if (volume.secret && overlay !== 'dev') expect(volume.secret.secretName).toBe('gantry-database');
      }
    }
    if (overlay !== 'dev') expect(objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Secret')).toEqual([]);
  });

  it('lets only nginx reach web, only the app reach the database, and autoscales web on CPU', async () => {
    const objects = await rendered;
    const policy = (name: string) => objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name);
    expect(policy('default-deny-ingress')?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    expect(policy('web-from-nginx')?.spec.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'nginx' } } }],
        ports: [{ port: 8080, protocol: 'TCP' }],
      },
    ]);
    if (overlay === 'dev') {
      const from = policy('postgres-from-the-app')?.spec.ingress[0].from[0].podSelector.matchExpressions[0].values;
      expect(from).toEqual(['web', 'jobs', 'migrate']);
    }
    const webScaler = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'web');
    expect(webScaler?.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' });
    expect(webScaler?.spec.metrics[0].resource.name).toBe('cpu');
    // With KEDA, the ScaledObject scales the job workers and the CPU autoscaler for them is gone.
    const jobsScalers = objects.filter(
      (o) => o.metadata.name === 'jobs' && ['HorizontalPodAutoscaler', 'ScaledObject'].includes(o.kind),
    );
    expect(jobsScalers.map((o) => o.kind)).toEqual([
      overlay === 'production-operators' ? 'ScaledObject' : 'HorizontalPodAutoscaler',
    ]);
  });
});

describe('the strict field check', () => {
  it('catches a misspelt field the schemas accept', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'typo' },
      spec: {
        selector: { matchLabels: { app: 'x' } },
        template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'x', image: 'x', readinesProbe: {} }] } },
      },
    };
    new Deployment(deployment).validate(); // the schema lets it through
    expect(unknownFields(deployment, 'V1Deployment', 'Deployment/typo')).toEqual([
      'Deployment/typo.spec.template.spec.containers[0].readinesProbe (no such field in V1Container)',
    ]);
  });
});
