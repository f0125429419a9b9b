// Compiles ContentRegistry.sol with the pinned solcjs (package-lock.json) through the
// standard-JSON API and writes build/ContentRegistry.json: ABI, bytecode, compiler version and
// settings, and the SHA-256 of the source. Same source + same settings = same bytes.
//
//   node contracts/compile.mjs                 # writes contracts/build/ContentRegistry.json
//   node contracts/compile.mjs --out FILE      # writes elsewhere (the rebuild check in the tests)
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import solc from "solc";

const here = dirname(fileURLToPath(import.meta.url));
const CONTRACT = "ContentRegistry";
const SOURCE_NAME = `${CONTRACT}.sol`;

// Fixed here, recorded in the artifact; changing any of them changes the bytecode.
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  metadata: { bytecodeHash: "ipfs" },
};

function outputPath(argv) {
  const at = argv.indexOf("--out");
  if (at === -1) return join(here, "build", `${CONTRACT}.json`);
  if (!argv[at + 1]) throw new Error("--out needs a file path");
  return argv[at + 1];
}

const source = readFileSync(join(here, SOURCE_NAME));
const input = {
  language: "Solidity",
  sources: { [SOURCE_NAME]: { content: source.toString("utf8") } },
  settings: {
    ...SETTINGS,
    outputSelection: {
      [SOURCE_NAME]: { [CONTRACT]: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
    },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input)));
const problems = output.errors ?? [];
for (const problem of problems) console.error(problem.formattedMessage);
if (problems.some((problem) => problem.severity === "error")) process.exit(1);
if (problems.length > 0) {
  console.error("compile.mjs: warnings are errors here; fix the source");
  process.exit(1);
}

const compiled = output.contracts[SOURCE_NAME][CONTRACT];
const artifact = {
  contractName: CONTRACT,
  abi: compiled.abi,
  bytecode: `0x${compiled.evm.bytecode.object}`,
  deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
  compiler: { name: "solcjs", version: solc.version(), settings: SETTINGS },
  sourceSha256: createHash("sha256").update(source).digest("hex"),
};

const out = outputPath(process.argv.slice(2));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(artifact, null, 2)}\n`);
console.log(`compile.mjs: ${CONTRACT} ${artifact.deployedBytecode.length / 2 - 1} bytes -> ${out}`);
