// dist/vendor/protobufjs-minimal.js: protobufjs' minimal runtime (CommonJS) as one ES module
// with a default export, for browsers. Node and bundlers import "protobufjs/minimal.js" from
// node_modules; a browser loading dist/ through an import map cannot load CommonJS, so the
// map points "protobufjs/minimal.js" here instead (README, "In a browser").
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  stdin: {
    contents: "import pb from 'protobufjs/minimal.js';\nexport default pb;\n",
    resolveDir: pkg,
    sourcefile: 'protobufjs-minimal-entry.js',
  },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outfile: join(pkg, 'dist/vendor/protobufjs-minimal.js'),
  logLevel: 'warning',
});
