/**
 * The workflow bundle a worker runs. `npm run build` writes it into dist/ (scripts/write-workflow-bundles.mjs), so
 * an installed worker loads the file instead of running webpack at start (seconds of CPU, and webpack's heap stays
 * in the worker's resident memory); from the TypeScript sources (tests, `tsx`) it is bundled once per process.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type BundleOptions, type WorkflowBundle } from '@temporalio/worker';
import { siblingModule } from './module-path.js';
import { WORKFLOW_INTERCEPTOR_MODULE } from './observability/tracing.js';
import { keelHome } from './util/paths.js';

const WORKFLOWS = siblingModule(import.meta.url, './workflows/index.js');

/** Where prebuilt bundles live: next to this module, so dist/ in the package and never src/. */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const bundleFile = (dir: string, tracing: boolean) =>
  path.join(dir, tracing ? 'workflow-bundle-tracing.js' : 'workflow-bundle.js');
const manifestFile = (dir: string) => path.join(dir, 'workflow-bundle.json');

/**
 * `preloadModules`: Keel's workflow modules (and the SDK and @opentelemetry/api modules they import) are evaluated
 * once per worker and shared, frozen, by every run, instead of each run evaluating its own copy of ~60 modules
 * (test/unit/workflow-bundles.test.ts checks they keep no per-run state at module level). That copy was most of
 * what a cached run held and most of the CPU of creating a workflow, which is what a run evicted from the cache
 * pays when it wakes. Not with tracing: Temporal's interceptors register a tracer provider in
 * @opentelemetry/api's singletons, which must then be each run's own.
 */
export function workflowBundleOptions(tracing: boolean): BundleOptions {
  return {
    workflowsPath: WORKFLOWS,
    workflowInterceptorModules: tracing ? [WORKFLOW_INTERCEPTOR_MODULE] : [],
    preloadModules: tracing ? [] : [WORKFLOWS],
    logger: quietLogger,
  };
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} } as never;

/** The Temporal versions a bundle is tied to: the SDK it embeds (@temporalio/workflow) and the worker that runs it. */
export function temporalVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  return {
    '@temporalio/workflow': version('@temporalio/workflow'),
    '@temporalio/worker': version('@temporalio/worker'),
  };
}

/** The prebuilt bundle, when there is one built with the Temporal versions installed now (else undefined: bundle). */
export function prebuiltWorkflowBundle(tracing: boolean, dir = HERE): WorkflowBundle | undefined {
  const file = bundleFile(dir, tracing);
  if (!existsSync(file) || !existsSync(manifestFile(dir))) return undefined;
  const built = JSON.parse(readFileSync(manifestFile(dir), 'utf8')) as { temporal?: Record<string, string> };
  if (JSON.stringify(built.temporal) !== JSON.stringify(temporalVersions())) return undefined;
  return { code: readFileSync(file, 'utf8') };
}

/** Writes both bundles and their manifest (by default next to this module: dist/ when `npm run build` runs it). */
export async function writePrebuiltWorkflowBundles(dir = HERE): Promise<string[]> {
  const files: string[] = [];
  for (const tracing of [false, true]) {
    const file = bundleFile(dir, tracing);
    const { code, map } = splitSourceMap((await bundleWorkflowCode(workflowBundleOptions(tracing))).code);
    writeFileSync(file, code);
    writeFileSync(`${file}.map`, map);
    files.push(file);
  }
  writeFileSync(manifestFile(dir), `${JSON.stringify({ temporal: temporalVersions() }, null, 2)}\n`);
  return files;
}

/**
 * The bundle a package ships carries a stub source map and its real one beside it (`.map`, for people): the worker
 * parses an inline map when it starts and keeps it for stack traces, ~24 MB of resident memory for every worker
 * process (most of an idle worker's growth). Workflow stack traces then name lines of the bundle, whose code is
 * not minified. Bundles built from the sources (tests, tsx) keep their inline map.
 */
export function splitSourceMap(code: string): { code: string; map: string } {
  const marker = '\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,';
  const at = code.lastIndexOf(marker);
  if (at < 0) throw new Error('the workflow bundle has no inline source map to move out');
  const map = Buffer.from(code.slice(at + marker.length).trim(), 'base64').toString('utf8');
  // Temporal's worker refuses a bundle without an inline map, and reads `sourceRoot` from it.
  const stub = JSON.stringify({
    version: 3,
    file: 'workflow-bundle.js',
    sourceRoot: '',
    sources: [],
    names: [],
    mappings: '',
  });
  return { code: `${code.slice(0, at)}${marker}${Buffer.from(stub).toString('base64')}\n`, map };
}

const bundles = new Map<boolean, Promise<WorkflowBundle>>();
/**
 * The workflow bundle, loaded or built once per process. `tracing` (default true) adds Temporal's OpenTelemetry
 * workflow interceptors; a worker with tracing off uses the bundle without them, as they (and the SDK they load)
 * were instantiated for every run it created, whether their spans went anywhere or not. They add no commands, so
 * histories replay on either bundle.
 */
export function workflowBundle(options: { tracing?: boolean } = {}): Promise<WorkflowBundle> {
  const tracing = options.tracing ?? true;
  let bundle = bundles.get(tracing);
  if (!bundle) {
    const prebuilt = prebuiltWorkflowBundle(tracing);
    bundle = prebuilt ? Promise.resolve(prebuilt) : sourceBundle(tracing);
    bundles.set(tracing, bundle);
  }
  return bundle;
}

/**
 * From the TypeScript sources (tests, a checkout run under tsx), the bundle is cached under KEEL_HOME/cache, keyed by
 * every source file, the lockfile and the Temporal versions: each test file's process would otherwise run webpack
 * again (seconds of CPU) for the same code. A new key replaces the older bundles of the same flavour.
 */
async function sourceBundle(tracing: boolean): Promise<WorkflowBundle> {
  const dir = path.join(keelHome(), 'cache', 'workflow-bundles');
  const flavour = tracing ? 'tracing' : 'plain';
  const file = path.join(dir, `${sourceKey(tracing)}-${flavour}.js`);
  if (existsSync(file)) return { code: readFileSync(file, 'utf8') };
  const bundle = await bundleWorkflowCode(workflowBundleOptions(tracing));
  mkdirSync(dir, { recursive: true });
  for (const old of readdirSync(dir)) if (old.endsWith(`-${flavour}.js`)) rmSync(path.join(dir, old), { force: true });
  const partial = `${file}.${process.pid}.partial`; // renamed into place: test files bundle at the same time
  writeFileSync(partial, bundle.code);
  renameSync(partial, file);
  return bundle;
}

/** The cache key of the bundle built from the sources under `dir` (by default this module's directory). */
export function sourceKey(tracing: boolean, dir = HERE): string {
  const hash = createHash('sha256').update(JSON.stringify({ tracing, temporal: temporalVersions() }));
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile());
  const lockfile = path.join(dir, '..', 'package-lock.json');
  for (const file of [...files.sort(), lockfile]) if (existsSync(file)) hash.update(file).update(readFileSync(file));
  return hash.digest('hex').slice(0, 32);
}
