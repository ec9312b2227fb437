//! `no-privileged`: refuses privileged containers and privileged execs —
//! the Go "authobot" seed's core rule, without its bypasses.
//!
//! Catches `--privileged` on `containers/create`, on `exec` create, and in
//! the `HostConfig` body that API versions before 1.24 accept on
//! `containers/{id}/start`; field names are matched the way the daemon
//! matches them (`hostconfig.privileged` too), and a body that cannot be
//! read on those routes is a deny, never a pass.

use portcullis_sdk::{BodyError, Decision, Phase, Request, export_policy};

/// The policy: deny anything that would run with `--privileged`.
pub fn authorize(req: &Request) -> Result<Decision, BodyError> {
    if req.phase() == Phase::Response {
        return Ok(Decision::allow()); // judged in the request phase
    }
    let privileged = match req.action() {
        "container_create" => req.container_create()?.host_config.privileged,
        "container_exec_create" => req.exec_create()?.privileged,
        "container_start" => req.container_start()?.is_some_and(|hc| hc.privileged),
        _ => false,
    };
    Ok(if privileged {
        Decision::deny(match req.action() {
            "container_exec_create" => "privileged exec is not allowed",
            _ => "privileged containers are not allowed",
        })
    } else {
        Decision::allow()
    })
}

export_policy!(authorize);

#[cfg(test)]
mod tests {
    use portcullis_sdk::testing::{RequestBuilder, fixture, fixture_response};
    use portcullis_sdk::{assert_allowed, assert_denied};

    use super::*;

    #[test]
    fn denies_the_captured_privileged_run() {
        assert_denied!(
            authorize(&fixture("run_priv__02_POST_containers-create.json")),
            "privileged containers"
        );
    }

    #[test]
    fn allows_the_captured_plain_runs_and_their_other_calls() {
        for name in [
            "create_bg__01_HEAD_ping.json",
            "create_bg__02_POST_containers-create.json",
            "create_bg__04_POST_containers-ID-start.json",
            "run_rm__02_POST_containers-create.json",
            "exec__03_POST_containers-bg-exec.json",
            "exec__04_POST_exec-ID-start.json",
            "ps__02_GET_containers-json.json",
        ] {
            assert!(authorize(&fixture(name)).unwrap().is_allowed(), "{name}");
        }
    }

    #[test]
    fn denies_privileged_exec() {
        let req = RequestBuilder::post_json(
            "/v1.41/containers/bg/exec",
            r#"{"Cmd":["sh"],"Privileged":true}"#,
        )
        .build();
        assert_denied!(authorize(&req), "privileged exec");
    }

    #[test]
    fn denies_privileged_spelled_the_way_go_accepts() {
        let req = RequestBuilder::post_json(
            "/v1.41/containers/create",
            r#"{"Image":"x","hostconfig":{"PRIVILEGED":true}}"#,
        )
        .build();
        assert_denied!(authorize(&req), "privileged");
    }

    #[test]
    fn denies_privileged_through_a_legacy_start_body() {
        let req = RequestBuilder::post_json("/v1.23/containers/bg/start", r#"{"Privileged":true}"#)
            .build();
        assert_denied!(authorize(&req), "privileged");
        assert_allowed!(authorize(
            &RequestBuilder::new("POST", "/v1.23/containers/bg/start").build()
        ));
    }

    #[test]
    fn denies_a_create_whose_body_was_not_forwarded() {
        let req = RequestBuilder::new("POST", "/v1.41/containers/create")
            .unforwarded_body(2_000_000)
            .build();
        assert_denied!(authorize(&req), "not forwarded");
    }

    #[test]
    fn denies_path_variants_of_create() {
        for uri in [
            "/v1.41/containers%2Fcreate",
            "/v1.41/%63ontainers/create",
            "//containers/./create/",
        ] {
            let req =
                RequestBuilder::post_json(uri, r#"{"HostConfig":{"Privileged":true}}"#).build();
            assert_denied!(authorize(&req), "privileged");
        }
    }

    #[test]
    fn response_phase_is_not_rejudged() {
        assert_allowed!(authorize(&fixture_response(
            "run_priv__02_POST_containers-create.json"
        )));
    }

    #[test]
    fn entry_point_speaks_abi_v1() {
        let envelope = RequestBuilder::post_json(
            "/containers/create",
            r#"{"HostConfig":{"Privileged":true}}"#,
        )
        .envelope();
        let answer: serde_json::Value =
            serde_json::from_slice(&portcullis_entry::authorize(&envelope)).unwrap();
        assert_eq!(answer["allow"], false);
        assert_eq!(answer["msg"], "privileged containers are not allowed");
        assert_eq!(
            portcullis_entry::validate_config(b"{}"),
            br#"{"allow":true}"#
        );
        assert!(
            portcullis_entry::validate_config(br#"{"typo":1}"#).starts_with(br#"{"allow":false"#)
        );
    }
}
