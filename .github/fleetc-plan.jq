# Renders `fleetc plan --format json` as markdown for the pull request
# comment and the job summary: totals, one table row per app, ring and
# version transition (at most five stores named, like the text output),
# the policy verdicts with one example each, and every diagnostic when the
# fleet does not compile. Run: jq -r -f .github/fleetc-plan.jq plan.json
# Tested by compiler/internal/ci (TestPlanMarkdown).

def stores($ids; $n):
  if ($ids | length) <= 5 then $ids | join(", ")
  else ($ids[:5] | join(", ")) + ", … and \($n - 5) more" end;

def cell: tostring | gsub("\\|"; "\\|") | gsub("\n"; " ");

def transition:
  if (.from // "") == "" then "→ \(.to)"
  elif (.to // "") == "" then "\(.from) →"
  else "\(.from) → \(.to)" end;

def pos: if .file then "`\(.file):\(.line // 0)`" else "" end;

def counts:
  "\(.added) added, \(.upgraded) upgraded, \(.downgraded) downgraded, \(.reconfigured) reconfigured, \(.removed) removed, \(.unchanged) unchanged";

"### fleetc plan",
"",
if .ok | not then
  "**The fleet does not compile: \([.diagnostics[] | select(.severity == "error")] | length) errors.** Nothing would be published.",
  "",
  (.diagnostics[] | "- \(.severity): `\(.pos | if .file then "\(.file):\(.line // 0):\(.col // 0)" else "" end)` \(if .path then "\(.path): " else "" end)\(.message)")
else
  (.plan.summary as $s |
    "**\($s.storesTouched) of \($s.fleetStores) stores touched (\($s.share * 1000 | round / 10)%)**: \($s.counts | counts)",
    "",
    if ($s.apps | map(select(.rings | any(.transitions | length > 0))) | length) == 0 then
      "No app changes."
    else
      "| app | ring | change | version | stores | which |",
      "|---|---|---|---|---:|---|",
      ($s.apps[] | .app as $app | .rings[] | .ring as $ring | (.transitions // [])[] |
        "| \($app) | \($ring) | \(.kind) | \(transition | cell) | \(.count) | \(stores(.stores; .count) | cell) |")
    end),
  (if (.plan.storesAdded | length) > 0 then "", "Stores added: \(stores(.plan.storesAdded; .plan.storesAdded | length))" else empty end),
  (if (.plan.storesRemoved | length) > 0 then "", "Stores removed: \(stores(.plan.storesRemoved; .plan.storesRemoved | length))" else empty end),
  (if (.plan.ringMoves | length) > 0 then "", "Ring moves: \(.plan.ringMoves | map("\(.store) \(.from) → \(.to)") | join(", "))" else empty end),
  (if (.verdicts.rules // [] | length) > 0 then
    "",
    "#### Policy verdicts",
    "",
    "\(.verdicts.verdicts.allow // 0) allowed, \(.verdicts.verdicts.deny // 0) denied, \(.verdicts.verdicts.defer // 0) deferred, \(.verdicts.verdicts["needs-signoff"] // 0) need sign-off",
    "",
    "| verdict | rule | pairs | stores | apps | sign-off | example |",
    "|---|---|---:|---:|---|---|---|",
    (.verdicts.rules[] |
      "| \(.verdict) | \(if .rule == "" then "(no rule)" else "`\(.rule)` \(.pos | pos)" end) | \(.pairs) | \(.stores | length) | \(.apps | join(", ") | cell) | \(.teams // [] | join(", ")) | \(.example | cell)\(if .nextLocal then " (next may go ahead at \(.nextLocal))" else "" end) |")
  else empty end),
  (if ([.diagnostics[] | select(.severity == "warning")] | length) > 0 then
    "",
    "#### Warnings",
    "",
    (.diagnostics[] | select(.severity == "warning") | "- `\(.pos.file // ""):\(.pos.line // 0)` \(.message)")
  else empty end)
end
