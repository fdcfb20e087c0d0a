//! The published compliance reports stay consistent without rerunning the panel:
//! the manifest (`peers/panel/panel.json`) describes what `scripts/compliance.sh`
//! needs, every committed per-implementation summary (`reports/ID/ROLE.txt`) names
//! real cases with Autobahn's verdict names in catalog order, and the pass counts
//! in `reports/README.md` are the gate's count of those summaries. Reads files
//! only: no installs, no network.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use wsconform::gate::{behavior_close_named, behavior_named, Gate};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness/ is inside the repository")
        .to_path_buf()
}

fn manifest() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(repo().join("peers/panel/panel.json"))
        .expect("peers/panel/panel.json is readable");
    let json: serde_json::Value = serde_json::from_str(&text).expect("panel.json is JSON");
    json["implementations"]
        .as_array()
        .expect("panel.json has an implementations array")
        .clone()
}

fn text<'a>(imp: &'a serde_json::Value, key: &str) -> &'a str {
    imp[key]
        .as_str()
        .unwrap_or_else(|| panic!("{}: `{key}` is a string", imp["id"]))
}

#[test]
fn manifest_describes_a_panel_the_scripts_can_run() {
    let panel = manifest();
    assert!(
        panel.len() >= 10,
        "{} implementations, at least 10 wanted",
        panel.len()
    );
    let languages: BTreeSet<&str> = panel.iter().map(|i| text(i, "language")).collect();
    assert!(languages.len() >= 5, "languages: {languages:?}");
    let mut ids = HashSet::new();
    for imp in &panel {
        let id = text(imp, "id");
        assert!(ids.insert(id), "{id} listed twice");
        assert!(
            !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{id}: ids are folder and agent names: a-z, 0-9, -"
        );
        for key in ["library", "version", "installed", "home", "deflate", "limits"] {
            assert!(!text(imp, key).is_empty(), "{id}: empty `{key}`");
        }
        assert!(
            text(imp, "server").contains("{port}"),
            "{id}: the server command takes {{port}}"
        );
        if !imp["client"].is_null() {
            let client = text(imp, "client");
            assert!(
                client.contains("{url}") && client.contains("{agent}"),
                "{id}: the client command takes {{url}} and {{agent}}"
            );
        }
        if !imp["build"].is_null() {
            assert!(
                repo().join(text(imp, "sources")).is_dir(),
                "{id}: `sources` is a folder"
            );
        }
    }
}

/// `(id, behavior, behaviorClose)` rows of one summary; only `behaviorClose` has
/// names with a space (`WRONG CODE`), so the line splits in three at the first two.
fn summary(path: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(path)
        .expect("summary is readable")
        .lines()
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let mut next = || {
                parts
                    .next()
                    .unwrap_or_else(|| panic!("{}: line {line:?} has three fields", path.display()))
                    .to_string()
            };
            (next(), next(), next())
        })
        .collect()
}

#[test]
fn summaries_hold_catalog_cases_with_autobahn_verdicts_and_match_the_readme() {
    let reports = repo().join("reports");
    let Ok(readme) = std::fs::read_to_string(reports.join("README.md")) else {
        // A checkout without published reports has nothing to keep in sync.
        assert!(
            !reports.join("node-ws").exists(),
            "summaries without reports/README.md"
        );
        return;
    };
    let catalog: Vec<String> = wsconform_cases::catalog().into_iter().map(|c| c.id).collect();
    let position = |id: &str| catalog.iter().position(|c| c == id);
    let gate = Gate::default();
    let mut checked = 0;
    for imp in manifest() {
        let id = text(&imp, "id");
        for role in ["server", "client"] {
            let path = reports.join(id).join(format!("{role}.txt"));
            let link = format!("]({id}/{role}.txt)");
            if !path.exists() {
                assert!(
                    !readme.contains(&link),
                    "README links the missing {id}/{role}.txt"
                );
                continue;
            }
            let rows = summary(&path);
            let mut last = None;
            for (case, behavior, close) in &rows {
                let at =
                    position(case).unwrap_or_else(|| panic!("{id}/{role}.txt: {case} is not in the catalog"));
                assert!(
                    last.is_none_or(|l| l < at),
                    "{id}/{role}.txt: {case} out of catalog order or repeated"
                );
                last = Some(at);
                behavior_named(behavior).unwrap_or_else(|e| panic!("{id}/{role}.txt {case}: {e}"));
                behavior_close_named(close).unwrap_or_else(|e| panic!("{id}/{role}.txt {case}: {e}"));
            }
            let passed = rows.iter().filter(|(_, b, c)| gate.passes_names(b, c)).count();
            let cell = format!("[{passed}/{}]({id}/{role}.txt)", rows.len());
            assert!(
                readme.contains(&cell),
                "reports/README.md lacks {cell}: rerun scripts/compliance.sh --report-only"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "reports/README.md but no summaries");
}

/// Every summary has its `ID/ROLE.run` beside it: one `wsconform:` line (the tool of the
/// first run), one `cases:` line (its selection) and an `updated: SELECTION with TOOL` line per
/// later `scripts/compliance.sh --update`, and `reports/README.md` names each of them, so a
/// reader knows which engine gave which lines.
#[test]
fn every_summary_says_which_runs_made_it_and_the_readme_names_them() {
    let reports = repo().join("reports");
    let Ok(readme) = std::fs::read_to_string(reports.join("README.md")) else {
        return; // no published reports
    };
    for imp in manifest() {
        let id = text(&imp, "id");
        for role in ["server", "client"] {
            if !reports.join(id).join(format!("{role}.txt")).exists() {
                continue;
            }
            let path = reports.join(id).join(format!("{role}.run"));
            let run = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("no {id}/{role}.run"));
            let (mut tools, mut selections) = (0, 0);
            for line in run.lines() {
                let (key, value) = line
                    .split_once(": ")
                    .unwrap_or_else(|| panic!("{id}/{role}.run: {line:?} is not `key: value`"));
                match key {
                    "wsconform" => tools += 1,
                    "cases" => selections += 1,
                    "updated" => assert!(
                        value.split_once(" with ").is_some(),
                        "{id}/{role}.run: {line:?} names no tool"
                    ),
                    _ => panic!("{id}/{role}.run: unknown key {key:?}"),
                }
                assert!(
                    readme.contains(value),
                    "reports/README.md does not name {value:?} ({id}/{role}.run): rerun scripts/compliance.sh --report-only"
                );
            }
            assert_eq!(
                (tools, selections),
                (1, 1),
                "{id}/{role}.run: one tool and one selection"
            );
        }
    }
}

/// Cells of one Markdown table row (`| a | b |` → `["a", "b"]`).
fn cells(line: &str) -> Vec<&str> {
    line.trim()
        .trim_matches('|')
        .split(" | ")
        .map(str::trim)
        .collect()
}

/// `reports/agreement.md` (written by `scripts/compliance-autobahn.sh`) is what a user who
/// migrates from Autobahn reads first, so its figures must add up, every difference must be
/// explained, and the wsconform verdict it quotes for each difference must be the one the
/// committed summary holds: a panel rerun that changes a verdict without the agreement being
/// recomputed fails here.
#[test]
fn agreement_adds_up_explains_every_difference_and_quotes_the_committed_verdicts() {
    let reports = repo().join("reports");
    let Ok(doc) = std::fs::read_to_string(reports.join("agreement.md")) else {
        return; // no published agreement: nothing to keep in sync
    };
    let ids: HashSet<String> = manifest().iter().map(|i| text(i, "id").to_string()).collect();
    let (mut same, mut total, mut rows) = (0usize, 0usize, 0usize);
    let mut differences = Vec::new();
    let mut section = "";
    for line in doc.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            section = if title == "Differences" { "differences" } else { "" };
            continue;
        }
        if !line.starts_with("| ") || line.starts_with("| ---") || line.starts_with("| implementation ") {
            continue;
        }
        let row = cells(line);
        assert!(
            ids.contains(row[0]),
            "agreement.md: {} is not in the panel",
            row[0]
        );
        assert!(
            matches!(row[1], "server" | "client"),
            "agreement.md: role {:?}",
            row[1]
        );
        if section == "differences" {
            assert_eq!(row.len(), 6, "agreement.md: difference row {line:?}");
            differences.push(row);
            continue;
        }
        assert_eq!(row.len(), 6, "agreement.md: table row {line:?}");
        if let Some((a, b)) = row[4].split(" (").next().and_then(|f| f.split_once(" / ")) {
            if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                assert!(a <= b, "agreement.md: {line:?}");
                same += a;
                total += b;
                rows += 1;
            }
        }
    }
    assert!(rows > 0, "agreement.md has no rows with figures");
    let overall = format!("**Overall: {same} of {total} stable cases identical");
    assert!(
        doc.contains(&overall),
        "agreement.md: the rows add up to {same}/{total}, the overall line says otherwise"
    );
    // Issue #13's bar for the published agreement: at least 99.8 % of the cases Autobahn keeps
    // stable get both verdicts identical (1000 * same >= 998 * total, in integers).
    assert!(
        1000 * same >= 998 * total,
        "agreement.md: {same} of {total} stable cases identical, under 99.8 %"
    );
    // A row holds a run of cases with the same verdicts and explanation ("13.2.1, 13.2.2").
    let listed: Vec<(&str, &str, &str, &str, &str)> = differences
        .iter()
        .flat_map(|row| {
            row[2]
                .split(", ")
                .map(move |case| (row[0], row[1], case, row[3], row[5]))
        })
        .collect();
    assert_eq!(
        listed.len(),
        total - same,
        "agreement.md: every non-identical case listed once"
    );
    let distinct: HashSet<_> = listed
        .iter()
        .map(|(id, role, case, _, _)| (id, role, case))
        .collect();
    assert_eq!(distinct.len(), listed.len(), "agreement.md: a case listed twice");
    for (id, role, case, ours, why) in listed {
        assert!(
            why != "unexplained" && !why.is_empty(),
            "agreement.md: {id} {role} {case} differs from Autobahn without an explanation \
             (peers/panel/agreement-notes.tsv)"
        );
        let committed = summary(&reports.join(id).join(format!("{role}.txt")))
            .into_iter()
            .find(|(c, _, _)| c == case)
            .map(|(_, b, c)| format!("{b} / {c}"));
        assert_eq!(
            committed.as_deref().unwrap_or("not run"),
            ours,
            "agreement.md quotes wsconform's {id} {role} {case} as {ours}; the committed summary \
             says otherwise: rerun scripts/compliance-autobahn.sh --compare-only"
        );
    }
    // The breakdown by rule adds up to the differences listed.
    let by_rule: usize = doc
        .lines()
        .skip_while(|l| !l.starts_with("## Differences"))
        .filter_map(|l| l.strip_prefix("- ").and_then(|r| r.rsplit_once(": ")))
        .map(|(_, n)| n.parse::<usize>().expect("a count"))
        .sum();
    assert_eq!(
        by_rule,
        total - same,
        "agreement.md: the differences by rule add up"
    );
}

/// Every Autobahn run recorded in the repository (`reports/ID/autobahn/ROLE-SET-runN.txt`,
/// written by `scripts/compliance-autobahn.sh`) names catalog cases with Autobahn's verdict
/// names, and the agreement row of its implementation, role and set is what those records
/// and the committed summary give: the cases with one verdict pair in every run (stable),
/// how many of them wsconform's summary has the same, and the unstable rest. A row without
/// records must say it is carried over (`†`), so a hand-edited or stale figure fails here.
#[test]
fn recorded_autobahn_runs_give_the_published_agreement_rows() {
    let reports = repo().join("reports");
    let Ok(doc) = std::fs::read_to_string(reports.join("agreement.md")) else {
        return; // no published agreement: nothing to keep in sync
    };
    let table: Vec<Vec<&str>> = doc
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ---") && !l.starts_with("| implementation "))
        .map(cells)
        .collect();
    let catalog: HashSet<String> = wsconform_cases::catalog().into_iter().map(|c| c.id).collect();
    let mut recomputed = 0;
    for imp in manifest() {
        let id = text(&imp, "id");
        for role in ["server", "client"] {
            for (set, label) in [("base", "1–10"), ("deflate", "12–13")] {
                let row = table.iter().find(|r| r[0] == id && r[1] == role && r[2] == label);
                let mut runs = Vec::new();
                for n in 1.. {
                    let path = reports.join(id).join(format!("autobahn/{role}-{set}-run{n}.txt"));
                    if !path.exists() {
                        break;
                    }
                    let rows = summary(&path);
                    for (case, behavior, close) in &rows {
                        assert!(
                            catalog.contains(case),
                            "{}: {case} is not in the catalog",
                            path.display()
                        );
                        behavior_named(behavior).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                        behavior_close_named(close).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    }
                    runs.push(rows);
                }
                let Some(row) = row else {
                    assert!(
                        runs.is_empty(),
                        "agreement.md has no {id} {role} {label} row for its records"
                    );
                    continue;
                };
                if runs.is_empty() {
                    assert!(
                        row[3].ends_with('†'),
                        "agreement.md: {id} {role} {label} has no recorded Autobahn runs but is not marked carried over"
                    );
                    continue;
                }
                let ours_path = reports.join(id).join(format!("{role}.txt"));
                if !ours_path.exists() {
                    assert_eq!(row[4], "no wsconform run", "agreement.md: {id} {role} {label}");
                    recomputed += 1;
                    continue;
                }
                let ours: std::collections::HashMap<String, (String, String)> = summary(&ours_path)
                    .into_iter()
                    .map(|(c, b, cl)| (c, (b, cl)))
                    .collect();
                let (mut same, mut stable, mut unstable) = (0, 0, Vec::new());
                let by_case: Vec<std::collections::HashMap<&str, (&str, &str)>> = runs
                    .iter()
                    .map(|run| {
                        run.iter()
                            .map(|(c, b, cl)| (c.as_str(), (b.as_str(), cl.as_str())))
                            .collect()
                    })
                    .collect();
                for (case, _, _) in &runs[0] {
                    let seen: Vec<_> = by_case.iter().map(|r| r.get(case.as_str()).copied()).collect();
                    if seen.iter().any(Option::is_none) {
                        continue; // not in every run
                    }
                    if seen.iter().all(|v| *v == seen[0]) {
                        stable += 1;
                        same += usize::from(ours.get(case).map(|(b, c)| (b.as_str(), c.as_str())) == seen[0]);
                    } else {
                        unstable.push(case.as_str());
                    }
                }
                let figures = format!("{same} / {stable}");
                let figures_shown = row[4] == figures || row[4].starts_with(&format!("{figures} ("));
                assert!(
                    row[3] == runs.len().to_string() && figures_shown,
                    "agreement.md: {id} {role} {label} says {} runs, {}; the records give {} runs, {figures}: \
                     rerun scripts/compliance-autobahn.sh --compare-only",
                    row[3],
                    row[4],
                    runs.len()
                );
                let listed = if unstable.is_empty() {
                    "none".to_string()
                } else {
                    unstable.join(", ")
                };
                assert_eq!(row[5], listed, "agreement.md: {id} {role} {label} unstable cases");
                recomputed += 1;
            }
        }
    }
    let carried = table.iter().filter(|r| r[3].ends_with('†')).count();
    assert!(
        recomputed + carried == table.len(),
        "agreement.md: {} table rows, {recomputed} recomputed from records, {carried} carried over",
        table.len()
    );
}
