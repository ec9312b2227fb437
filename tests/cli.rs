//! The command line: `check` exit codes and reports, config errors, `--help`.

use std::process::Output;

use crate::util::{fixture_path, guest_wasm, module, portcullis, repo_root, wat};

fn check(config: &std::path::Path, fixture: &str) -> Output {
    portcullis()
        .arg("check")
        .arg("--config")
        .arg(config)
        .arg(fixture_path(fixture))
        .output()
        .unwrap()
}

fn write_config(dir: &tempfile::TempDir, modules: &str) -> std::path::PathBuf {
    let path = dir.path().join("plugin.toml");
    std::fs::write(&path, format!("[plugin]\nname = \"t\"\n\n{modules}")).unwrap();
    path
}

#[test]
fn the_example_chain_in_plugin_toml_loads_and_decides() {
    guest_wasm("no_privileged"); // builds the guests plugin.toml points at
    let config = repo_root().join("plugin.toml");
    let denied = check(&config, "run_priv__02_POST_containers-create.json");
    let report = String::from_utf8_lossy(&denied.stdout);
    assert_eq!(denied.status.code(), Some(1), "{report}");
    assert!(report.contains("decision: DENY"), "{report}");
    assert!(
        report.contains("no-privileged: privileged containers are not allowed"),
        "{report}"
    );
    assert!(report.contains("read-only            (not run"), "{report}");

    let allowed = check(&config, "create_bg__02_POST_containers-create.json");
    let report = String::from_utf8_lossy(&allowed.stdout);
    assert_eq!(allowed.status.code(), Some(0), "{report}");
    assert!(report.contains("action container_create"), "{report}");
    assert!(
        report.matches(" allow ").count() == 2,
        "both modules report: {report}"
    );
}

#[test]
fn check_reports_a_module_failure_as_a_deny() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &dir,
        &module("loop", &wat("infinite-loop"), "fuel = 5000000"),
    );
    let output = check(&config, "ps__02_GET_containers-json.json");
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains("portcullis: module \"loop\" failed: out of fuel (limit 5000000)"),
        "{report}"
    );
    assert!(report.contains("FAILED"), "{report}");
}

#[test]
fn check_reads_plain_authz_requests_and_the_response_phase() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&dir, &module("allow", &wat("allow"), ""));
    let plain = dir.path().join("req.json");
    std::fs::write(
        &plain,
        br#"{"RequestMethod":"GET","RequestUri":"/v1.41/info","User":"bob"}"#,
    )
    .unwrap();
    let output = portcullis()
        .arg("check")
        .arg("-c")
        .arg(&config)
        .arg(&plain)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        report.contains("GET /info (action docker_info, user bob)"),
        "{report}"
    );

    let response = portcullis()
        .args(["check", "--response", "-c"])
        .arg(&config)
        .arg(fixture_path("create_bg__02_POST_containers-create.json"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&response.stdout).contains("Response POST /containers/create"));
}

#[test]
fn config_errors_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&dir, &module("a", &wat("allow"), "fule = 5"));
    let output = check(&config, "ps__02_GET_containers-json.json");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:7:", config.display())),
        "{stderr}"
    );
    assert!(stderr.contains("fule"), "{stderr}");
}

#[test]
fn module_config_rejected_by_the_guest_fails_the_load() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &dir,
        &module(
            "ro",
            &guest_wasm("read_only"),
            "[module.config]\nuserz = [\"a\"]",
        ),
    );
    let output = check(&config, "ps__02_GET_containers-json.json");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("module \"ro\""), "{stderr}");
    assert!(
        stderr.contains("rejects its config: invalid module config: unknown field `userz`"),
        "{stderr}"
    );
}

#[test]
fn unreadable_request_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&dir, &module("allow", &wat("allow"), ""));
    let output = portcullis()
        .arg("check")
        .arg("-c")
        .arg(&config)
        .arg(dir.path().join("nope.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nope.json"));
}

#[test]
fn help_describes_both_commands() {
    for command in ["serve", "check"] {
        let output = portcullis().args([command, "--help"]).output().unwrap();
        assert!(output.status.success());
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("--config"), "{command}: {help}");
    }
    let check_help = String::from_utf8_lossy(
        &portcullis()
            .args(["check", "--help"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    assert!(
        check_help.contains("0 allow, 1 deny, 2 error"),
        "{check_help}"
    );
}

#[test]
fn version_names_the_git_revision() {
    let output = portcullis().arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&output.stdout).into_owned();
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    assert!(head.len() == 12, "not in a git checkout? {head:?}");
    assert_eq!(
        version.trim(),
        format!("portcullis {} (git {head})", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn man_writes_a_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let output = portcullis()
        .args(["man", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    for page in [
        "portcullis.1",
        "portcullis-serve.1",
        "portcullis-reload.1",
        "portcullis-status.1",
        "portcullis-validate.1",
        "portcullis-check.1",
        "portcullis-state-dump.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_default();
        let name = page.trim_end_matches(".1");
        assert!(text.contains(&format!("\n.TH {name} 1 ")), "{page}: {text}");
    }
    let serve = std::fs::read_to_string(dir.path().join("portcullis-serve.1")).unwrap();
    assert!(serve.contains("admin\\-socket"), "{serve}");
}

#[test]
fn check_runs_stateful_modules_on_scratch_state() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let config = dir.path().join("plugin.toml");
    let text = format!(
        "[plugin]\nname = \"t\"\nstate_dir = \"{}\"\n\n{}",
        state_dir.display(),
        module("hello-first", &guest_wasm("hello_first"), "")
    );
    std::fs::write(&config, text).unwrap();
    // The seed's refusal, decided offline ...
    let output = check(&config, "run_rm__02_POST_containers-create.json");
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(report.contains("You must say hello first"), "{report}");
    // ... without touching the state of the configured (or a running)
    // server: loading a stateful module opens its database.
    assert!(
        !state_dir.exists(),
        "check wrote into the configured state_dir"
    );
}

fn validate(config: &std::path::Path) -> (Option<i32>, String) {
    let output = portcullis()
        .args(["validate", "--config"])
        .arg(config)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn validate_checks_what_a_reload_checks() {
    guest_wasm("hardening"); // builds the guests the example points at
    let (code, out) = validate(&repo_root().join("examples/ownership/plugin.toml"));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with("valid: ") && out.contains("(2 modules: ownership -> hardening)"),
        "{out}"
    );

    let dir = tempfile::tempdir().unwrap();
    let refused_import = write_config(&dir, &module("bad", &wat("forbidden-import"), ""));
    let (code, out) = validate(&refused_import);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with("invalid: ") && out.contains("\"bad\""),
        "{out}"
    );

    let typo = write_config(&dir, &module("a", &wat("allow"), "fule = 5"));
    let (code, out) = validate(&typo);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("fule"), "{out}");

    let rejected_config = write_config(
        &dir,
        &module(
            "h",
            &guest_wasm("hello_first"),
            "[module.config]\nscope = \"team\"",
        ),
    );
    let (code, out) = validate(&rejected_config);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("team"), "{out}");
}
