#!/usr/bin/env node
// Generates src/api/schema.d.ts from the server's committed OpenAPI document.
//   node scripts/gen-api.mjs           write src/api/schema.d.ts
//   node scripts/gen-api.mjs --check   regenerate in memory (via a temp file) and fail if the
//                                      committed file differs: CI catches a spec change that
//                                      the SPA's types did not follow.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const specPath = resolve(webDir, process.env.OPENAPI_SPEC ?? "../crates/api-http/openapi.json");
const outPath = join(webDir, "src/api/schema.d.ts");
const check = process.argv.includes("--check");

if (!existsSync(specPath)) {
  console.error(`gen-api: ${specPath} does not exist (the server writes it with \`server openapi\`).`);
  process.exit(1);
}

const ast = await openapiTS(pathToFileURL(specPath));
const source = `${COMMENT_HEADER}${astToString(ast)}`;

if (!check) {
  writeFileSync(outPath, source);
  console.log(`gen-api: wrote ${outPath}`);
  process.exit(0);
}

const tempDir = mkdtempSync(join(tmpdir(), "gen-api-"));
try {
  const tempPath = join(tempDir, "schema.d.ts");
  writeFileSync(tempPath, source);
  const committed = existsSync(outPath) ? readFileSync(outPath, "utf8") : "";
  if (committed !== readFileSync(tempPath, "utf8")) {
    console.error("check:api: src/api/schema.d.ts is out of date with crates/api-http/openapi.json. Run `npm run gen:api` and commit the result.");
    process.exit(1);
  }
  console.log("check:api: src/api/schema.d.ts matches the OpenAPI document.");
} finally {
  rmSync(tempDir, { recursive: true, force: true });
}
