// Lays out the site the server serves (target/site) from the wasm-bindgen output, the style
// sheet and public/: content-hashed file names (cached for a year as immutable), a `.gz` and a
// `.br` twin of every compressible file, and assets.json naming the current files.
//
//   node scripts/site-assets.mjs <bundle dir: sightline.js, sightline.wasm, its parts> <site dir>
//
// Files whose hashed name already exists are left as they are, so an unchanged tree costs
// only the hashing; hashed files of earlier builds are removed.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const [stage, site] = process.argv.slice(2);
if (!stage || !site) {
  console.error('usage: node scripts/site-assets.mjs <stage dir> <site dir>');
  process.exit(2);
}

const hash = (...buffers) => {
  const h = createHash('sha256');
  for (const b of buffers) h.update(b);
  return h.digest('hex').slice(0, 16);
};
const COMPRESSIBLE = /\.(js|mjs|wasm|css|json|svg|txt|html|map)$/;

/** Writes `data` at `file` (and its compressed twins) unless that file exists already. */
function put(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!fs.existsSync(file)) {
    fs.writeFileSync(`${file}.tmp`, data);
    fs.renameSync(`${file}.tmp`, file);
  }
  if (!COMPRESSIBLE.test(file)) return;
  if (!fs.existsSync(`${file}.gz`)) {
    fs.writeFileSync(`${file}.gz`, zlib.gzipSync(data, { level: 9 }));
  }
  if (!fs.existsSync(`${file}.br`)) {
    const br = zlib.brotliCompressSync(data, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    });
    fs.writeFileSync(`${file}.br`, br);
  }
}

const keep = new Set();
const emit = (rel, data) => {
  const file = path.join(site, rel);
  put(file, data);
  for (const suffix of ['', '.gz', '.br']) keep.add(path.resolve(file + suffix));
  return `/${rel.split(path.sep).join('/')}`;
};

// The hydration bundle: the main module, its glue and the parts of the lazy pages refer to
// each other by relative names (`./sightline.js`, `./chunk_3.wasm`), and parts of two builds
// must never mix. So the whole bundle goes into one directory named by the hash of all its
// files: pkg/<hash>/.
const bundleFiles = fs.readdirSync(stage).filter((f) => fs.statSync(path.join(stage, f)).isFile()).sort();
for (const required of ['sightline.js', 'sightline.wasm']) {
  if (!bundleFiles.includes(required)) {
    console.error(`${stage}/${required} is missing: run scripts/build.sh`);
    process.exit(1);
  }
}
const bundleData = bundleFiles.map((f) => [f, fs.readFileSync(path.join(stage, f))]);
const bundleHash = hash(...bundleData.flatMap(([f, data]) => [Buffer.from(`${f}\0`), data]));
const pkg = `pkg/${bundleHash}`;
for (const [f, data] of bundleData) emit(path.join('pkg', bundleHash, f), data);

const css = fs.readFileSync('style/main.css');
const cssUrl = emit(path.join('pkg', `sightline.${hash(css)}.css`), css);

// public/: scripts under vendor/ get hashed names (the page links them through assets.json);
// everything else (robots.txt) keeps its name.
const vendor = {};
const walk = (dir) => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) { walk(abs); continue; }
    const rel = path.relative('public', abs);
    const data = fs.readFileSync(abs);
    if (rel.startsWith(`vendor${path.sep}`) && rel.endsWith('.js')) {
      const base = rel.slice(0, -3);
      vendor[path.basename(base)] = emit(`${base}.${hash(data)}.js`, data);
    } else {
      emit(rel, data);
    }
  }
};
if (fs.existsSync('public')) walk('public');

for (const [name, script] of [['sightline-editor', 'build:editor'], ['sightline-charts', 'build:charts']]) {
  if (!vendor[name]) {
    console.error(`public/vendor/${name}.js is missing: run \`npm run ${script}\` first`);
    process.exit(1);
  }
}

// Remove what earlier builds left (hashed names no longer in use), except the bundles of
// the two builds before this one: a page opened before the server restarted with a new build
// still fetches its lazy parts from its own bundle's directory.
const bundles = path.join(site, 'pkg');
const earlier = fs.readdirSync(bundles, { withFileTypes: true })
  .filter((e) => e.isDirectory() && /^[0-9a-f]{16}$/.test(e.name) && e.name !== bundleHash)
  .map((e) => ({ dir: path.join(bundles, e.name), at: fs.statSync(path.join(bundles, e.name)).mtimeMs }))
  .sort((x, y) => y.at - x.at);
for (const [i, { dir }] of earlier.entries()) {
  if (i < 2) {
    for (const f of fs.readdirSync(dir)) keep.add(path.resolve(dir, f));
  } else {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const prune = (dir) => {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const abs = path.resolve(dir, entry.name);
    if (entry.isDirectory()) prune(abs);
    else if (!keep.has(abs)) fs.rmSync(abs);
  }
};
prune(path.join(site, 'pkg'));
prune(path.join(site, 'vendor'));

const manifest = { pkg, css: cssUrl, editor: vendor['sightline-editor'], charts: vendor['sightline-charts'] };
const text = `${JSON.stringify(manifest, null, 2)}\n`;
const manifestFile = path.join(site, 'assets.json');
if (!fs.existsSync(manifestFile) || fs.readFileSync(manifestFile, 'utf8') !== text) {
  fs.writeFileSync(`${manifestFile}.tmp`, text);
  fs.renameSync(`${manifestFile}.tmp`, manifestFile);
}
const size = (rel) => fs.statSync(path.join(site, rel)).size;
const parts = bundleFiles.filter((f) => f.endsWith('.wasm'));
const total = (suffix) => parts.reduce((n, f) => n + size(path.join(pkg, f + suffix)), 0);
const main = path.join(pkg, 'sightline.wasm');
console.log(
  `site: ${pkg}/sightline.wasm ${size(main)} B (gzip ${size(`${main}.gz`)} B, brotli ${size(`${main}.br`)} B); ` +
    `${parts.length - 1} lazy parts, all wasm ${total('')} B (gzip ${total('.gz')} B)`,
);
