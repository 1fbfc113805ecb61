// Copies the front-end assets the gateway serves from node_modules into gateway/static/vendor/.
// That folder is git-ignored: `make setup` recreates it from the locked npm packages.
import { cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const target = join(here, "..", "gateway", "static", "vendor");

// [source inside node_modules, destination inside gateway/static/vendor]
const assets = [
  ["@kern-ux/native/dist/kern.min.css", "kern.min.css"],
  ["@kern-ux/native/dist/fonts", "fonts"],
  ["@kern-ux/native/LICENSE.md", "licenses/kern-ux-LICENSE.md"],
  ["axe-core/axe.min.js", "axe.min.js"],
  ["axe-core/LICENSE", "licenses/axe-core-LICENSE.txt"],
];

for (const [source] of assets) {
  if (!existsSync(join(modules, source))) {
    console.error(`copy-assets: ${source} is missing in node_modules; run "npm ci" first`);
    process.exit(1);
  }
}

// start from an empty folder so files from an older package version do not linger
rmSync(target, { recursive: true, force: true });
for (const [source, destination] of assets) {
  const to = join(target, destination);
  mkdirSync(dirname(to), { recursive: true });
  cpSync(join(modules, source), to, { recursive: true });
}
console.log(`copy-assets: ${assets.length} assets copied to ${target}`);
