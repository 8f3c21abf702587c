// `make conformance`: one black-box check per row of docs/compatibility.md, named by the
// row's id (its seed and its first cell), against the API at API (and the WebSocket API at
// SOCKET). Prints a scorecard per seed and writes it as JSON (CONFORMANCE_OUT).
//   --write-guide  rewrites the guide's `check` column and its scorecard from this run;
//   --check-guide  fails when the committed guide says something this run did not find.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Context } from "./context.mjs";
import otrs from "./otrs.mjs";
import webchat from "./webchat.mjs";
import notifications from "./notifications.mjs";
import rpc from "./rpc.mjs";
import cxbus from "./cxbus.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const guidePath = join(root, "docs/compatibility.md");
const args = new Set(process.argv.slice(2));
const { API, SOCKET, AGENT_KEY, IDENTITY_KEY, NODE_CLIENTS } = process.env;
if (!API) {
  console.error("API (the API's base URL) is needed; `make conformance` starts a local stack for it");
  process.exit(2);
}
const out = process.env.CONFORMANCE_OUT ?? join(root, "target/conformance/scorecard.json");
const ctx = new Context({ api: API, socket: SOCKET, agentKey: AGENT_KEY, identityKey: IDENTITY_KEY, modules: NODE_CLIENTS });

/// The guide's rows: { seed, id, line } for each table row under a seed's heading.
export function guideRows(text) {
  const rows = [];
  let seed = null;
  text.split("\n").forEach((line, index) => {
    const heading = line.match(/^## .*\((\d{3})\)/);
    if (heading) seed = heading[1];
    const cells = line.startsWith("| ") ? line.split(" | ") : null;
    if (seed && cells && !line.startsWith("| ---") && index > 0) {
      const first = cells[0].slice(2).trim();
      if (!["seed call", "seed command or event", "seed message or field", "seed event"].includes(first)) {
        rows.push({ seed, id: `${seed} ${first}`, index });
      }
    }
  });
  return rows;
}

const checks = [...otrs, ...webchat, ...cxbus, ...notifications, ...rpc];
const guide = readFileSync(guidePath, "utf8");
const rows = guideRows(guide);
const ids = new Set(rows.map((r) => r.id));
for (const c of checks) {
  if (!ids.has(c.id)) {
    console.error(`check "${c.id}" names no row of docs/compatibility.md`);
    process.exit(2);
  }
}

async function runOne(check) {
  const started = Date.now();
  try {
    await Promise.race([
      check.run(ctx),
      new Promise((_, reject) => setTimeout(() => reject(new Error("took over 180 s")), 180000)),
    ]);
    return { id: check.id, passed: true, ms: Date.now() - started };
  } catch (e) {
    return { id: check.id, passed: false, ms: Date.now() - started, error: String(e?.message ?? e).slice(0, 800) };
  }
}

// A few at a time: the checks share the deployment, never their chats or agents.
const results = [];
const queue = checks.filter((c) => !c.last);
await Promise.all(Array.from({ length: 4 }, async () => {
  while (queue.length) results.push(await runOne(queue.shift()));
}));
// What would disturb the others (the cleanup removes every closed chat) runs alone, last.
for (const check of checks.filter((c) => c.last)) results.push(await runOne(check));
const byId = new Map(results.map((r) => [r.id, r]));

/// A table row's cells, without the outer bars.
const cellsOf = (line) => line.replace(/^\|\s*/, "").replace(/\s*\|\s*$/, "").split(" | ");

/// Each row's state: passed, failed, by design (not offered, with its reason), or unchecked.
function state(text, row) {
  const r = byId.get(row.id);
  if (r) return r.passed ? "passed" : "failed";
  const status = cellsOf(text.split("\n")[row.index])[2] ?? "";
  return status.trim().startsWith("not offered") ? "by design" : "unchecked";
}

const seeds = { "000": "OTRS Kernel::System::Chat", "001": "Genesys WebChatService", "002": "Genesys CometD notifications", "003": "LIVECHAT RPC" };
const card = Object.entries(seeds).map(([seed, name]) => {
  const mine = rows.filter((r) => r.seed === seed);
  const count = (s) => mine.filter((r) => state(guide, r) === s).length;
  return { seed, name, rows: mine.length, passed: count("passed"), failed: count("failed"), byDesign: count("by design"), unchecked: count("unchecked") };
});

console.log("\nconformance against", API);
for (const r of results.filter((r) => !r.passed)) console.log(`  FAILED ${r.id}: ${r.error}`);
console.log(`\n  ${"seed".padEnd(34)} ${"rows".padStart(5)} ${"passed".padStart(7)} ${"failed".padStart(7)} ${"by design".padStart(10)} ${"unchecked".padStart(10)}`);
for (const c of card) {
  console.log(`  ${`${c.seed} ${c.name}`.padEnd(34)} ${String(c.rows).padStart(5)} ${String(c.passed).padStart(7)} ${String(c.failed).padStart(7)} ${String(c.byDesign).padStart(10)} ${String(c.unchecked).padStart(10)}`);
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ api: API, at: new Date().toISOString(), scorecard: card, checks: results.sort((a, b) => a.id.localeCompare(b.id)) }, null, 2));
console.log(`\nwritten to ${out}`);

/// The guide as this run would write it: each row's `check` cell, and the scorecard.
function written(text) {
  const lines = text.split("\n");
  for (const row of guideRows(text)) {
    const cells = lines[row.index].replace(/\s*\|\s*$/, "").split(" | ");
    const s = state(text, row);
    const cell = s === "passed" ? "passed" : s === "failed" ? "**failed**" : "–";
    if (cells.length === 4) cells[3] = cell; else cells.push(cell);
    lines[row.index] = `${cells.join(" | ")} |`;
  }
  for (let i = 0; i < lines.length; i++) {
    if (/^\| seed (call|command or event|message or field|event) \|/.test(lines[i]) && !lines[i].includes("| check |")) {
      lines[i] = lines[i].replace(/\s*\|\s*$/, " | check |");
      lines[i + 1] = lines[i + 1].replace(/\s*\|\s*$/, " | --- |");
    }
  }
  let result = lines.join("\n");
  const table = ["| seed | rows | passed | failed | by design | no check yet |", "| --- | --- | --- | --- | --- | --- |",
    ...card.map((c) => `| ${c.seed} ${c.name} | ${c.rows} | ${c.passed} | ${c.failed} | ${c.byDesign} | ${c.unchecked} |`)].join("\n");
  result = result.replace(/<!-- scorecard -->[\s\S]*<!-- \/scorecard -->/, `<!-- scorecard -->\n${table}\n<!-- /scorecard -->`);
  return result;
}

let code = results.every((r) => r.passed) ? 0 : 1;
if (args.has("--write-guide")) {
  writeFileSync(guidePath, written(guide));
  console.log("docs/compatibility.md written from this run");
}
if (args.has("--check-guide")) {
  const want = written(guide).split("\n");
  const have = guide.split("\n");
  const differ = want.map((line, i) => [line, have[i], i]).filter(([w, h]) => w !== h);
  if (differ.length) {
    console.error(`docs/compatibility.md disagrees with this run (make conformance-guide rewrites it):`);
    for (const [w, h, i] of differ.slice(0, 10)) console.error(`  line ${i + 1}:\n    guide: ${h}\n    run:   ${w}`);
    code = 1;
  }
}
process.exit(code);
