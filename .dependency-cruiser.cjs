// The layering of ../shared/DESIGN.md §2 as rules a tool checks (`npm run lint:deps`):
// pure layers touch no I/O, the decode side (apply, verify, inspect, transport) never meets an
// encoder, rendering (report) reads results but never measures or builds, nothing imports the
// CLI, and there are no import cycles.

const PURE = '^src/(model|extents|format|planner)/';
const DECODE_SIDE = '^src/(apply|verify|inspect|transport)/';
// Encode-side modules: encoders and differs (the halves that make bytes), the build pipeline,
// the comparison runs, and the native diff library.
const ENCODE_SIDE = [
  '^src/codecs/[^/]*-encoder\\.ts$',
  '^src/codecs/encoder-registry\\.ts$',
  '^src/diff/[^/]*-differ\\.ts$',
  '^src/diff/differ-registry\\.ts$',
  '^src/diff/bsdiff-matcher\\.ts$',
  '^src/pipeline/',
  '^src/planner/',
  '^src/compare/',
  '^src/signing/keygen\\.ts$',
  'node_modules/bsdiff-node/',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Import cycles hide the order modules initialise in and make layers meaningless.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'pure-core-no-io',
      severity: 'error',
      comment: 'model, extents, format and planner are pure: no file system, processes, threads or network.',
      from: { path: PURE },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|child_process|worker_threads|net|http|https|http2|tls|dgram|os|process|readline)$',
      },
    },
    {
      name: 'pure-core-no-adapters',
      severity: 'error',
      comment: 'The pure core imports only pure layers, errors and hashing; I/O lives at the edges.',
      from: { path: PURE },
      to: {
        path: '^src/(image|package|apply|verify|inspect|transport|pipeline|cli|release|signing|compare|report|codecs|diff|targets)/',
      },
    },
    {
      name: 'decode-side-no-encoder',
      severity: 'error',
      comment: 'A device implementer reads apply/, verify/, inspect/ and transport/ without meeting an encoder.',
      from: { path: DECODE_SIDE },
      to: { path: ENCODE_SIDE, reachable: true },
    },
    {
      name: 'report-renders-only',
      severity: 'error',
      comment:
        "report/ renders results: it reads model types, errors, inspect descriptions and compare results (compare-result, pareto-front), never the pipeline or other measuring internals; to write its files it asks where a path's links lead (image/link-target).",
      from: { path: '^src/report/' },
      to: {
        path: '^src/',
        pathNot:
          '^src/(report|model|errors|inspect)/|^src/compare/(compare-result|pareto-front)\\.ts$|^src/image/link-target\\.ts$',
      },
    },
    {
      name: 'only-cli-uses-report',
      severity: 'error',
      comment: 'Rendering is an edge: only the CLI and the library entry (src/index.ts) import report/.',
      from: { path: '^src/', pathNot: '^src/(cli|report)/|^src/index\\.ts$' },
      to: { path: '^src/report/' },
    },
    {
      name: 'nothing-imports-cli',
      severity: 'error',
      comment: 'The CLI is the outermost layer: the library never depends on it.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'src-not-test',
      severity: 'error',
      comment: 'Product code never imports test code.',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs'],
    },
    moduleSystems: ['es6', 'cjs'],
  },
};
