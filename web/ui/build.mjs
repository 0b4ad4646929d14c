// Builds the browser UI into ../static: index.html, app.js, app.css.
// The output is deterministic (same sources and lockfile → same bytes), so
// CI can check that the committed web/static matches a fresh build.
//   npm ci && npm run build
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: "src/main.js" },
  outdir: out,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  charset: "utf8",
  legalComments: "eof",
  sourcemap: false,
  metafile: true,
  logLevel: "warning",
});

// index.html names the assets with a hash of their content, so a browser
// never runs a stale script after an upgrade.
const hash = (f) => createHash("sha256").update(readFileSync(join(out, f))).digest("hex").slice(0, 12);
const html = readFileSync(join(here, "src", "index.html"), "utf8")
  .replace("%JS_HASH%", hash("app.js"))
  .replace("%CSS_HASH%", hash("app.css"));
writeFileSync(join(out, "index.html"), html);

for (const [name, o] of Object.entries(result.metafile.outputs)) {
  console.log(`${name.replace(/^.*static\//, "web/static/")}\t${(o.bytes / 1024).toFixed(1)} KiB`);
}
