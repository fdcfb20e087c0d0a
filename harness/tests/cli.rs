//! The command line's contract: exit codes, one-line errors, report files.

use std::process::Command;

#[path = "common/cli.rs"]
mod cli_common;

use cli_common::{assert_exit, assert_usage_error, read_json, s, tmpdir, wsconform};

#[test]
fn bad_input_is_a_one_line_error_with_exit_2() {
    assert_usage_error(
        &wsconform(&["server", "http://127.0.0.1:1/"]),
        "unsupported scheme",
    );
    assert_usage_error(&wsconform(&["server", "ws://"]), "malformed URL");
    assert_usage_error(&wsconform(&["server", "--cases", "99.9"]), "unknown case id");
    assert_usage_error(&wsconform(&["server", "--jobs", "0"]), "--jobs");
    assert_usage_error(&wsconform(&["server", "--timeout-scale", "0"]), "--timeout-scale");
    assert_usage_error(
        &wsconform(&["server", "--outdir", "/proc/wsconform"]),
        "not writable",
    );
    assert_usage_error(&wsconform(&["show", "1.2.3.4"]), "unknown case id");
    assert_usage_error(&wsconform(&["server", "--frobnicate"]), "unexpected argument");
    let refused = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = refused.local_addr().expect("addr").port();
    drop(refused);
    assert_usage_error(
        &wsconform(&["server", &format!("ws://127.0.0.1:{port}/")]),
        "cannot reach",
    );
    assert_usage_error(&wsconform(&["server", "--tls", "--cert", "c.pem"]), "--key");
    assert_usage_error(
        &wsconform(&["server", "wss://127.0.0.1:1/", "--tls"]),
        "a wss:// URL means TLS",
    );
    assert_usage_error(
        &wsconform(&["server", "wss://127.0.0.1:1/", "--ca", "/nonexistent/ca.pem"]),
        "cannot read /nonexistent/ca.pem",
    );
    assert_usage_error(
        &wsconform(&["client", "--spawn", "echo {ca}", "--cases", "1.1.1"]),
        "{ca} in --spawn needs --tls",
    );
}

/// wss:// from the command line: the reference server over TLS, and a
/// client spawned with `{ca}` (the reference client binary itself) that
/// trusts the harness's self-signed certificate.
#[test]
fn tls_for_both_roles() {
    let dir = tmpdir("tls");
    let out = wsconform(&[
        "server",
        "--tls",
        "--cases",
        "1.1.*,hs.server.standard",
        "--outdir",
        s(&dir),
    ]);
    assert_exit(&out, 0);
    let results = std::fs::read_to_string(dir.join("results.json")).expect("results.json");
    assert!(
        results.contains("\"wss://127.0.0.1:"),
        "the target is a wss:// URL"
    );

    let spawn = format!(
        "{} reference-client {{url}} --agent {{agent}} --ca {{ca}}",
        env!("CARGO_BIN_EXE_wsconform")
    );
    let out = wsconform(&[
        "client",
        "--tls",
        "--spawn",
        &spawn,
        "--agent",
        "tls-client",
        "--cases",
        "1.1.*,hs.client.*",
        "--outdir",
        s(&dir.join("clients")),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_exit(&out, 0);
    assert!(stdout.contains("tls-client: 24 cases"), "{stdout}");
    let pem = std::fs::read_to_string(dir.join("clients/wsconform-cert.pem")).expect("the certificate file");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));

    // An Autobahn fuzzingserver spec with a wss:// url and its cert and key
    // files: served with them, the client trusting that certificate.
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("rcgen");
    let (cert, key) = (dir.join("spec-cert.pem"), dir.join("spec-key.pem"));
    std::fs::write(&cert, made.cert.pem()).expect("writes");
    std::fs::write(&key, made.key_pair.serialize_pem()).expect("writes");
    let spec = dir.join("fuzzingserver.json");
    let spec_json = |key: &std::path::Path| {
        serde_json::json!({"url": "wss://127.0.0.1:0", "cert": s(&cert), "key": s(key), "cases": ["1.1.1"]})
            .to_string()
    };
    std::fs::write(&spec, spec_json(&key)).expect("writes the spec");
    let spec_run = |outdir: &str| {
        wsconform(&[
            "client",
            "--spec",
            s(&spec),
            "--spawn",
            &spawn,
            "--agent",
            "spec-tls",
            "--outdir",
            outdir,
        ])
    };
    let out = spec_run(s(&dir.join("spec")));
    assert_exit(&out, 0);
    let served = std::fs::read_to_string(dir.join("spec/wsconform-cert.pem")).expect("the certificate file");
    assert_eq!(
        served,
        made.cert.pem(),
        "the spec's certificate is the one served"
    );
    std::fs::write(&spec, spec_json(&dir.join("missing-key.pem"))).expect("writes the spec");
    assert_usage_error(&spec_run(s(&dir.join("spec2"))), "missing-key.pem");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn passing_run_exits_0_and_writes_reports() {
    let dir = tmpdir("pass");
    let out = wsconform(&["server", "--cases", "2.*,7.1.*", "--outdir", s(&dir)]);
    assert_exit(&out, 0);
    let index = read_json(dir.join("index.json"));
    let cases = index["wsconform-reference"].as_object().expect("agent");
    assert_eq!(cases.len(), 17);
    assert_eq!(cases["2.1"]["reportfile"], "wsconform_reference_case_2_1.json");
    let case = read_json(dir.join("wsconform_reference_case_2_1.json"));
    assert_eq!(case["behavior"], "OK");
    assert_eq!(case["received"], serde_json::json!([["pong", ""]]));
    let results = read_json(dir.join("results.json"));
    assert_eq!(results["schema_version"], 1);
    assert_eq!(results["runs"][0]["complete"], true);
    assert_eq!(results["runs"][0]["cases"].as_array().expect("cases").len(), 17);
    std::fs::remove_dir_all(dir).expect("cleans");
}

#[test]
fn conformance_failure_exits_1() {
    let dir = tmpdir("fail");
    let out = wsconform(&[
        "server",
        "--cases",
        "2.2",
        "--knob",
        "never-pong",
        "--outdir",
        s(&dir),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_exit(&out, 1);
    assert!(stdout.contains("✗ 2.2 [FAILED / OK]"), "{stdout}");
    std::fs::remove_dir_all(dir).expect("cleans");
}

#[test]
fn list_and_show() {
    let out = wsconform(&["list", "--cases", "6.4.*"]);
    assert_exit(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
    let out = wsconform(&["show", "5.19"]);
    let case: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(case["id"], "5.19");
    assert_eq!(case["rfc"]["level"], "MUST");
}

/// `show ID --results DIR`: the case, then what a saved run did with it —
/// for permessage-deflate the parameters negotiated and the compression
/// ratios (issue 12: Autobahn's `trafficStats`).
#[test]
fn show_with_results_gives_negotiated_deflate_and_ratios() {
    let dir = tmpdir("show-results");
    let out = wsconform(&["server", "--cases", "1.1.1,12.1.1", "--outdir", s(&dir)]);
    assert_exit(&out, 0);
    let out = wsconform(&["show", "12.1.1", "--results", s(&dir)]);
    assert_exit(&out, 0);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(shown["case"]["id"], "12.1.1");
    let run = &shown["results"][0];
    assert_eq!(run["behavior"], "OK");
    assert_eq!(run["deflate"]["response"], "permessage-deflate");
    assert_eq!(run["deflate"]["params"]["client"]["max_window_bits"], 15);
    assert_eq!(run["traffic"]["outgoing_websocket_messages"], 1000);
    assert_eq!(run["traffic"]["outgoing_octets_app_level"], 16_000);
    let ratio = run["compression_ratio"]["outgoing"].as_f64().expect("a ratio");
    assert!(ratio > 0.0 && ratio < 1.0, "JSON text compresses: {ratio}");
    assert!(
        run["permessage_deflate"]
            .as_str()
            .expect("summary")
            .starts_with("permessage-deflate; sent 16000 → "),
        "{run}"
    );
    // A case without compression: no parameters, no ratios.
    let out = wsconform(&["show", "1.1.1", "--results", s(&dir.join("results.json"))]);
    assert_exit(&out, 0);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(shown["results"][0]["deflate"], serde_json::Value::Null);
    assert_eq!(
        shown["results"][0]["compression_ratio"]["outgoing"],
        serde_json::Value::Null
    );
    assert_usage_error(
        &wsconform(&["show", "2.1", "--results", s(&dir)]),
        "no run of case 2.1",
    );
    assert_usage_error(
        &wsconform(&["show", "12.1.1", "--results", "/nonexistent/results.json"]),
        "cannot read /nonexistent/results.json",
    );
    std::fs::remove_dir_all(dir).expect("cleans");
}

#[test]
fn client_role_exit_codes_and_reports() {
    let dir = tmpdir("client");
    let out = wsconform(&["client", "--cases", "2.*", "--outdir", s(&dir)]);
    assert_exit(&out, 0);
    let index = read_json(dir.join("index.json"));
    assert_eq!(
        index["wsconform-reference-client"]
            .as_object()
            .expect("agent")
            .len(),
        11
    );
    let case = read_json(dir.join("wsconform_reference_client_case_2_1.json"));
    assert_eq!(case["isServer"], true);
    let out = wsconform(&[
        "client",
        "--cases",
        "2.2",
        "--knob",
        "never-pong",
        "--outdir",
        s(&dir),
    ]);
    assert_exit(&out, 1);
    // A client that dies at once: every case FAILED, and the report says why.
    let out = wsconform(&[
        "client",
        "--cases",
        "2.2",
        "--spawn",
        "exit 3",
        "--outdir",
        s(&dir),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_exit(&out, 1);
    assert!(stdout.contains("exit status: 3"), "{stdout}");
    let out = wsconform(&["client", "--spawn", "true", "--knob", "never-pong"]);
    assert_usage_error(&out, "--knob");
    // A client that names itself (no {agent} in the command, no --agent, as
    // tungstenite's examples/autobahn-client.rs): its name is the run's
    // agent, not a made-up one that never ran anything.
    let named = dir.join("self-named");
    let out = wsconform(&[
        "client",
        "--cases",
        "1.1.1,2.1",
        "--spawn",
        &format!(
            "{} reference-client {{url}} --agent Tungstenite",
            env!("CARGO_BIN_EXE_wsconform")
        ),
        "--outdir",
        s(&named),
    ]);
    assert_exit(&out, 0);
    let index = read_json(named.join("index.json"));
    let agents: Vec<&String> = index.as_object().expect("agents").keys().collect();
    assert_eq!(agents, ["Tungstenite"]);
    assert_eq!(index["Tungstenite"]["2.1"]["behavior"], "OK");
    std::fs::remove_dir_all(dir).expect("cleans");
}

/// `--jobs N` with `--spawn`: N copies, each with its slice of the cases
/// and its own agent name (`{agent}-IofN`), merged under the one agent. A
/// copy that crashes, and one that hangs (killed with what it started once
/// its slice's deadlines have passed), cost only their own cases, which get
/// FAILED verdicts saying why; the reports are written.
#[test]
fn client_copies_that_crash_or_hang_cost_only_their_cases() {
    let dir = tmpdir("copies");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let pidfile = dir.join("hung.pid");
    let spawn = format!(
        "case {{agent}} in \
           *-2of3) exit 3 ;; \
           *-3of3) sleep 1000 & echo $! > {pid}; wait ;; \
           *) exec {bin} reference-client {{url}} --agent {{agent}} ;; \
         esac",
        pid = s(&pidfile),
        bin = env!("CARGO_BIN_EXE_wsconform"),
    );
    let outdir = dir.join("reports");
    let started = std::time::Instant::now();
    let out = wsconform(&[
        "client",
        "--spawn",
        &spawn,
        "--agent",
        "me",
        "--jobs",
        "3",
        "--cases",
        "1.1.1,1.1.2,1.1.3",
        "--timeout-scale",
        "0.1",
        "--outdir",
        s(&outdir),
    ]);
    assert_exit(&out, 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "bounded");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("copy 2 of 3 (me-2of3): client command exited: exit status: 3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("copy 3 of 3 (me-3of3)") && stdout.contains("killed as hung"),
        "{stdout}"
    );
    let index = read_json(outdir.join("index.json"));
    let me = index["me"].as_object().expect("one agent, merged");
    assert_eq!(index.as_object().expect("index").len(), 1, "{index}");
    let mut behaviors: Vec<&str> = me
        .values()
        .map(|v| v["behavior"].as_str().expect("behavior"))
        .collect();
    behaviors.sort_unstable();
    assert_eq!(behaviors, ["FAILED", "FAILED", "OK"], "one case per copy");
    let results = read_json(outdir.join("results.json"));
    assert_eq!(results["runs"][0]["complete"], false);
    // Each unfinished case says which copy did not run it, and why.
    let mut why: Vec<String> = results["runs"][0]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["outcome"]["setup_error"].as_str().map(str::to_string))
        .collect();
    why.sort();
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(
        why[0].contains("copy 2 of 3") && why[0].contains("exit status: 3"),
        "{why:?}"
    );
    assert!(
        why[1].contains("copy 3 of 3") && why[1].contains("killed as hung"),
        "{why:?}"
    );
    assert!(outdir.join("index.html").exists());
    // The hung copy's own child went with it.
    let pid = std::fs::read_to_string(&pidfile).expect("the hung copy started");
    let alive = std::path::Path::new("/proc").join(pid.trim()).join("stat");
    let state = std::fs::read_to_string(&alive).unwrap_or_default();
    assert!(
        state.is_empty() || state.contains(") Z "),
        "sleep {pid} survived: {state}"
    );
    // Copies of a client wsconform does not start: one line saying how.
    assert_usage_error(
        &wsconform(&["client", "--listen", "127.0.0.1:0", "--jobs", "2", "--agent", "a"]),
        "--shard I/N",
    );
    std::fs::remove_dir_all(dir).expect("cleans");
}

#[test]
fn baseline_fails_only_on_changes() {
    let dir = tmpdir("baseline");
    let out_dir = dir.join("reports");
    let base = dir.join("expected.json");
    let run = |extra: &[&str]| {
        let mut args = vec!["server", "--cases", "2.*", "--outdir", s(&out_dir), "--quiet"];
        args.extend_from_slice(extra);
        wsconform(&args)
    };
    // Record a baseline of a server that never answers pings.
    let out = run(&["--knob", "never-pong", "--expect", s(&base), "--update-expect"]);
    assert_exit(&out, 0);
    let recorded = read_json(&base);
    assert_eq!(
        recorded["agents"]["wsconform-reference"]["2.1"]["behavior"],
        "FAILED"
    );
    assert!(recorded["agents"]["wsconform-reference"]["2.1"]
        .get("duration")
        .is_none());
    // The same behaviour passes the gate although cases fail...
    let out = run(&["--knob", "never-pong", "--expect", s(&base)]);
    assert_exit(&out, 0);
    // ...and any change fails it, improvements included.
    let out = run(&["--expect", s(&base)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_exit(&out, 1);
    assert!(
        stdout.contains("changed 2.1: expected FAILED/OK, got OK/OK"),
        "{stdout}"
    );
    // A stale entry (no such case) fails too.
    let mut stale = recorded.clone();
    stale["agents"]["wsconform-reference"]["99.9"] =
        serde_json::json!({"behavior": "OK", "behaviorClose": "OK"});
    std::fs::write(&base, serde_json::to_vec(&stale).expect("json")).expect("writes");
    let out = run(&["--knob", "never-pong", "--expect", s(&base)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_exit(&out, 1);
    assert!(stdout.contains("stale baseline entry: 99.9"), "{stdout}");
    // A tungstenite-style expected-results.json (an index.json) works as is.
    let out = run(&[]);
    assert_exit(&out, 0);
    let index = out_dir.join("index.json");
    let copy = dir.join("expected-results.json");
    std::fs::copy(&index, &copy).expect("copies");
    let out = run(&["--expect", s(&copy)]);
    assert_exit(&out, 0);
    std::fs::remove_dir_all(dir).expect("cleans");
}

#[test]
fn shards_merge_into_the_whole_run() {
    let dir = tmpdir("shards");
    let (a, b, merged, whole) = (dir.join("a"), dir.join("b"), dir.join("m"), dir.join("w"));
    for (shard, out) in [("1/2", &a), ("2/2", &b)] {
        let st = wsconform(&[
            "server",
            "--cases",
            "2.*,3.*",
            "--shard",
            shard,
            "--outdir",
            s(out),
            "--quiet",
        ]);
        assert_exit(&st, 0);
    }
    let st = wsconform(&["report", "merge", "--outdir", s(&merged), s(&a), s(&b)]);
    assert_exit(&st, 0);
    // A report file name from an edited index.json never leads outside
    // the folders: one line, exit 2.
    let edited = dir.join("edited");
    std::fs::create_dir_all(&edited).expect("creates");
    for f in ["index.json", "results.json"] {
        std::fs::copy(a.join(f), edited.join(f)).expect("copies");
    }
    let mut index = read_json(edited.join("index.json"));
    index["wsconform-reference"]["2.1"]["reportfile"] = serde_json::json!("../../escaped.json");
    std::fs::write(edited.join("index.json"), index.to_string()).expect("writes");
    let st = wsconform(&["report", "merge", "--outdir", s(&dir.join("m2")), s(&edited)]);
    assert_exit(&st, 2);
    assert!(String::from_utf8_lossy(&st.stderr).contains("not a plain file name"));
    let results = read_json(merged.join("results.json"));
    let ids: Vec<&str> = results["runs"][0]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 18);
    assert_eq!(ids[..3], ["2.1", "2.2", "2.3"]);
    assert!(merged.join("wsconform_reference_case_3_7.json").exists());
    assert!(merged.join("index.html").exists());
    let st = wsconform(&["server", "--cases", "2.*,3.*", "--outdir", s(&whole), "--quiet"]);
    assert_exit(&st, 0);
    let same = wsconform(&[
        "report",
        "diff",
        s(&whole.join("index.json")),
        s(&merged.join("results.json")),
    ]);
    assert_exit(&same, 0);
    let broken = dir.join("k");
    let st = wsconform(&[
        "server",
        "--cases",
        "2.*,3.*",
        "--knob",
        "never-pong",
        "--outdir",
        s(&broken),
        "--quiet",
    ]);
    assert_exit(&st, 1);
    let changed = wsconform(&[
        "report",
        "diff",
        s(&whole.join("results.json")),
        s(&broken.join("results.json")),
    ]);
    let stdout = String::from_utf8_lossy(&changed.stdout);
    assert_exit(&changed, 1);
    assert!(
        stdout.contains("wsconform-reference 2.1: OK / OK → FAILED / OK"),
        "{stdout}"
    );
    std::fs::remove_dir_all(dir).expect("cleans");
}

#[test]
fn ctrl_c_leaves_valid_reports_of_finished_cases() {
    let dir = tmpdir("sigint");
    let child = Command::new(env!("CARGO_BIN_EXE_wsconform"))
        .args([
            "server",
            "--jobs",
            "1",
            "--cases",
            "6.4.*,5.19,5.20,2.*",
            "--outdir",
            s(&dir),
            "--quiet",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    std::thread::sleep(std::time::Duration::from_millis(700));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = child.wait_with_output().expect("exits");
    assert_exit(&out, 1);
    let results = read_json(dir.join("results.json"));
    assert_eq!(results["runs"][0]["complete"], false);
    let finished = results["runs"][0]["cases"].as_array().expect("cases").len();
    assert!((1..17).contains(&finished), "{finished} cases finished");
    let index = read_json(dir.join("index.json"));
    assert_eq!(
        index["wsconform-reference"].as_object().expect("agent").len(),
        finished
    );
    std::fs::remove_dir_all(dir).expect("cleans");
}

#[test]
fn autobahn_spec_file_selects_and_excludes() {
    let dir = tmpdir("spec");
    let spec = dir.join("fuzzingclient.json");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let outdir = dir.join("reports");
    let doc = serde_json::json!({
        "outdir": s(&outdir),
        "cases": ["2.*"],
        "exclude-cases": ["2.1", "12.*", "13.*"],
        "options": {"failByDrop": false}
    });
    std::fs::write(&spec, doc.to_string()).expect("writes");
    let out = wsconform(&["server", "--spec", s(&spec), "--quiet"]);
    assert_exit(&out, 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("option \"failByDrop\" is ignored"));
    let index = read_json(outdir.join("index.json"));
    assert_eq!(index["wsconform-reference"].as_object().expect("agent").len(), 10);
    std::fs::remove_dir_all(dir).expect("cleans");
}

/// The ids of an agent's entries in an index.json.
fn index_ids(index: &serde_json::Value, agent: &str) -> std::collections::BTreeSet<String> {
    index[agent].as_object().expect("agent").keys().cloned().collect()
}

/// The ids of a results.json's cases, all runs.
fn results_ids(results: &serde_json::Value) -> std::collections::BTreeSet<String> {
    let runs = results["runs"].as_array().expect("runs");
    runs.iter()
        .flat_map(|r| r["cases"].as_array().expect("cases"))
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

/// Drop-in (issue 12): a run from an Autobahn spec writes an index.json that
/// holds exactly the Autobahn case ids the spec selects, with Autobahn's
/// report file names, so a project's `jq … | diff expected-results.json`
/// check keeps passing; wsconform's own families still run and are in
/// results.json (and the HTML, JUnit, gate), unless `--autobahn-only`.
#[test]
fn spec_runs_keep_index_json_to_the_autobahn_ids_the_spec_selects() {
    use wsconform_cases::catalog;
    use wsconform_wire::Role;
    let dir = tmpdir("spec-index");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // Testing servers: "*" and an exclusion, as Autobahn reads them.
    let spec = dir.join("fuzzingclient.json");
    let outdir = dir.join("server");
    // The reference server, in its own process, stands for the server
    // the spec names (as scripts/autobahn-dropin.sh does).
    let server = Command::new(env!("CARGO_BIN_EXE_wsconform"))
        .args(["reference-server", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let mut server = KillOnDrop(server);
    let mut line = String::new();
    let stdout = server.0.stdout.take().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("reads");
    let url = line.trim().rsplit(' ').next().expect("url").to_string();
    let doc = serde_json::json!({
        "outdir": s(&outdir),
        "servers": [{"agent": "Tungstenite", "url": url}],
        "cases": ["*"],
        "exclude-cases": ["9.*", "12.*", "13.*"],
    });
    std::fs::write(&spec, doc.to_string()).expect("writes");
    let out = wsconform(&["server", "--spec", s(&spec), "--quiet"]);
    assert_exit(&out, 0);
    let selected = |role: Role, autobahn: bool| -> std::collections::BTreeSet<String> {
        catalog()
            .into_iter()
            .filter(|c| c.applies_to(role) && c.is_autobahn() == autobahn)
            .filter(|c| !["9", "12", "13"].contains(&c.category()))
            .map(|c| c.id)
            .collect()
    };
    let index = read_json(outdir.join("index.json"));
    assert_eq!(index.as_object().expect("index").len(), 1);
    assert_eq!(index_ids(&index, "Tungstenite"), selected(Role::Server, true));
    assert_eq!(
        index["Tungstenite"]["1.1.1"]["reportfile"], "tungstenite_case_1_1_1.json",
        "Autobahn's file names"
    );
    let own = selected(Role::Server, false);
    assert!(own.iter().any(|id| id.starts_with("hs.")) && own.iter().any(|id| id.starts_with("mask.")));
    let results = read_json(outdir.join("results.json"));
    let all: std::collections::BTreeSet<String> = selected(Role::Server, true).union(&own).cloned().collect();
    assert_eq!(results_ids(&results), all, "the own families still run");
    assert!(!outdir.join("tungstenite_case_hs_server_standard.json").exists());
    let html = std::fs::read_to_string(outdir.join("index.html")).expect("html");
    assert!(html.contains("hs.server.standard"));
    // Opting out: only Autobahn's cases run.
    let out = wsconform(&["server", "--spec", s(&spec), "--quiet", "--autobahn-only"]);
    assert_exit(&out, 0);
    let results = read_json(outdir.join("results.json"));
    assert_eq!(results_ids(&results), selected(Role::Server, true));
    drop(server);

    // Testing clients: the spec's patterns select Autobahn's cases, the own
    // families run besides them; copies merge into the one agent.
    let spec = dir.join("fuzzingserver.json");
    let outdir = dir.join("client");
    let doc = serde_json::json!({"url": "ws://127.0.0.1:0", "outdir": s(&outdir), "cases": ["1.1.*", "2.*"]});
    std::fs::write(&spec, doc.to_string()).expect("writes");
    let spawn = format!(
        "{} reference-client {{url}} --agent {{agent}}",
        env!("CARGO_BIN_EXE_wsconform")
    );
    let out = wsconform(&[
        "client",
        "--spec",
        s(&spec),
        "--agent",
        "Tungstenite",
        "--spawn",
        &spawn,
        "--jobs",
        "3",
        "--quiet",
    ]);
    assert_exit(&out, 0);
    let autobahn: std::collections::BTreeSet<String> = catalog()
        .into_iter()
        .filter(|c| c.id.starts_with("1.1.") || c.id.starts_with("2."))
        .map(|c| c.id)
        .collect();
    let index = read_json(outdir.join("index.json"));
    assert_eq!(index_ids(&index, "Tungstenite"), autobahn);
    let results = read_json(outdir.join("results.json"));
    let own = selected(Role::Client, false);
    assert!(!own.is_empty());
    assert_eq!(results_ids(&results), autobahn.union(&own).cloned().collect());
    std::fs::remove_dir_all(dir).expect("cleans");
}

/// A child process killed when the test ends, passing or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn replay_prints_the_wire_log_live() {
    let out = wsconform(&["replay", "2.2"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_exit(&out, 0);
    assert!(stdout.contains("→ ping fin=1"), "{stdout}");
    assert!(stdout.contains("← pong fin=1"), "{stdout}");
    assert!(stdout.contains("\"Hello, world!\""), "{stdout}");
    assert!(stdout.contains("behavior OK"), "{stdout}");
    let out = wsconform(&["replay", "9.9.9"]);
    assert_usage_error(&out, "unknown case id");
}

#[test]
fn reports_re_render_from_results_json() {
    let dir = tmpdir("render");
    let st = wsconform(&[
        "server",
        "--cases",
        "2.*",
        "--knob",
        "never-pong",
        "--outdir",
        s(&dir),
        "--quiet",
    ]);
    assert_exit(&st, 1);
    let (md, xml, html) = (dir.join("s.md"), dir.join("j.xml"), dir.join("r.html"));
    let results = dir.join("results.json");
    let st = wsconform(&[
        "report",
        "render",
        s(&results),
        "--markdown",
        s(&md),
        "--junit",
        s(&xml),
        "--html",
        s(&html),
    ]);
    assert_exit(&st, 0);
    let md = std::fs::read_to_string(md).expect("markdown");
    assert!(md.contains("2.1"), "{md}");
    let xml = std::fs::read_to_string(xml).expect("junit");
    assert!(xml.contains("<testsuite") && xml.contains("<failure"), "{xml}");
    assert!(std::fs::read_to_string(html).expect("html").contains("<html"));
    assert_usage_error(
        &wsconform(&["report", "render", s(&results)]),
        "nothing to render",
    );
    std::fs::remove_dir_all(dir).expect("cleans");
}

/// Files named on the command line are read and checked before the first
/// connection: a broken one costs no run and leaves no reports.
#[test]
fn files_are_checked_before_the_run() {
    let dir = tmpdir("checked-first");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let outdir = dir.join("reports");
    let run = |extra: &[&str]| {
        let mut args = vec!["server", "--cases", "1.1.1", "--quiet", "--outdir", s(&outdir)];
        args.extend_from_slice(extra);
        wsconform(&args)
    };
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\"1.1.1\": ").expect("writes");
    assert_usage_error(&run(&["--expect", s(&broken)]), "is not JSON");
    let bogus = dir.join("bogus.json");
    let doc = serde_json::json!({"wsconform_baseline": 1, "agents": {"wsconform-reference": {"1.1.1": {"behavior": "BOGUS", "behaviorClose": "OK"}}}});
    std::fs::write(&bogus, doc.to_string()).expect("writes");
    assert_usage_error(
        &run(&["--expect", s(&bogus)]),
        "agent \"wsconform-reference\", case 1.1.1: \"behavior\": unknown variant `BOGUS`",
    );
    // --update-expect reads an existing file first: its reasons are kept.
    assert_usage_error(&run(&["--expect", s(&bogus), "--update-expect"]), "BOGUS");
    let other_agent = dir.join("other.json");
    let doc = serde_json::json!({"a": {"1.1.1": {"behavior": "OK", "behaviorClose": "OK"}}, "b": {}});
    std::fs::write(&other_agent, doc.to_string()).expect("writes");
    assert_usage_error(
        &run(&["--expect", s(&other_agent)]),
        "has no entries for agent \"wsconform-reference\"",
    );
    assert_usage_error(
        &run(&["--expect", s(&dir.join("missing.json"))]),
        "cannot read baseline",
    );
    let spec = dir.join("spec.json");
    std::fs::write(&spec, r#"{"exclude-agent-cases": {"*": 5}}"#).expect("writes");
    assert_usage_error(
        &run(&["--spec", s(&spec)]),
        "exclude-agent-cases[\"*\"] must be a list of strings, got 5",
    );
    let file = dir.join("a-file");
    std::fs::write(&file, "").expect("writes");
    assert_usage_error(&run(&["--junit", s(&file.join("j.xml"))]), "is not a directory");
    assert!(!outdir.exists(), "no report folder for a run that never started");
    // An OS error is said once.
    let out = wsconform(&["server", "--outdir", s(&file.join("sub"))]);
    assert_usage_error(&out, "is not writable: Not a directory (os error 20)");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).matches("os error").count(),
        1
    );
    std::fs::remove_dir_all(dir).expect("cleans");
}

/// A port that is not one is an error, never the default port.
#[test]
fn urls_are_checked_whole() {
    assert_usage_error(&wsconform(&["server", "ws://127.0.0.1:99999/"]), "port \"99999\"");
    assert_usage_error(&wsconform(&["server", "ws://127.0.0.1:0/"]), "port 0");
    assert_usage_error(&wsconform(&["server", "ws://:9001/"]), "no host");
}
