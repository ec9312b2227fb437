//! The decision log cannot be forged (issue 17, class 8): a caller chooses
//! the request-target (percent-encoded newlines and escape sequences reach
//! the decoded path), the body and, through policies that quote them, the
//! messages; whatever it sends, each decision is exactly one line, in the
//! text and in the JSON format, and nothing in it drives a terminal.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::util::{Plugin, module, wat};

/// A whole forged decision line, as a request-target segment would carry it
/// once percent-decoded: an allowed `plugin disable` by root.
const FORGED: &str = "2026-12-06T00:00:00.000000Z  INFO portcullis::audit: phase=Request user=\"root\" method=POST path=/plugins/portcullis/disable action=\"plugin_disable\" allow=true msg= modules= chain=0123456789abcdef";

fn percent_encoded(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Waits for the log at `path` to hold `count` newline-terminated lines.
fn log_text(path: &std::path::Path, count: usize) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.matches('\n').count() >= count {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{count} lines never came:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[tokio::test]
async fn a_request_cannot_forge_or_split_decision_log_lines() {
    // A newline, a carriage return, a terminal escape (clear screen), a C1
    // CSI and a right-to-left override: all reach the decoded path.
    let segment = format!(
        "{}%0D%0A{}%1B%5B2J%C2%9B31m%E2%80%AE",
        percent_encoded("x"),
        percent_encoded(FORGED)
    );
    let uri = format!("/v1.41/containers/{segment}/json");
    // A JSON body with newlines between its tokens and escapes inside a string.
    let body = "{\"Image\":\n\"mini\",\r\n\"Cmd\":[\"\\u001b[31m\\n\u{202e}\"]}\n";
    let request = json!({
        "RequestMethod": "GET",
        "RequestUri": uri,
        "RequestHeaders": {"Content-Type": "application/json"},
        "RequestBody": BASE64.encode(body),
    });
    for format in ["text", "json"] {
        let plugin = Plugin::start(&format!(
            "[log]\nformat = \"{format}\"\ndestination = \"decisions.log\"\nbodies = true\n{}",
            module("open", &wat("allow"), "")
        ));
        let mut client = plugin.connect().await;
        let answer = client
            .post(
                "/AuthZPlugin.AuthZReq",
                serde_json::to_vec(&request).unwrap(),
            )
            .await;
        assert!(answer.allowed(), "{format}: {answer:?}");
        let log = log_text(&plugin.dir.path().join("decisions.log"), 1);
        assert_eq!(
            log.lines().count(),
            1,
            "{format}: one decision, one line:\n{log}"
        );
        assert!(
            !log.contains(['\r', '\u{1b}', '\u{9b}', '\u{202e}']),
            "{format}: {log:?}"
        );
        let line = log.trim_end_matches('\n');
        match format {
            "text" => {
                assert!(
                    line.contains(" INFO portcullis::audit: phase=Request user=\"-\" method=GET path=\"/containers/x\\r\\n2026-12-06T00:00:00.000000Z  INFO portcullis::audit: phase=Request user=\\\"root\\\""),
                    "the forged line must sit inside the quoted path:\n{line}"
                );
                assert!(
                    line.contains(" action=\"container_inspect\" allow=true "),
                    "{line}"
                );
            }
            _ => {
                let json: Value = serde_json::from_str(line).expect("one JSON object");
                assert_eq!(json["uri"], uri);
                assert_eq!(json["action"], "container_inspect");
                assert_eq!(
                    json["request_body"],
                    json!({"Image": "mini", "Cmd": ["\u{1b}[31m\n\u{202e}"]})
                );
            }
        }
    }
}
