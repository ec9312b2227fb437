//! The option-string cases: what the daemon *did* with a `local` volume's
//! options (`Endpoint::Volume`) and with a container's security options and
//! tmpfs options (`Endpoint::Run`), read from the kernel while a container
//! runs, against what the SDK's parsers say (compare.rs: `volume`, `run`).

use std::os::unix::fs::MetadataExt as _;

use serde_json::Value;

use super::compare::{self, RunSeen, SeenMount, VolumeSeen};
use super::corpus::Case;
use super::proxy::Proxy;
use super::{Outcome, remove, sdk_request};
use crate::dockerd::http;
use crate::dockerd::{Dockerd, IMAGE};

/// `POST /volumes/create` with the case's body, then a container that
/// mounts the volume, started; the host's mount table says what the
/// daemon mounted at the volume's `Mountpoint` while it runs.
pub(super) fn run_volume(dockerd: &Dockerd, proxy: &Proxy, case: &Case) -> Outcome {
    // A query dockerd ignores makes each case's request-target unique.
    let target = format!("{}/volumes/create?diffcase={}", case.prefix(), case.n);
    let body = case.body_for("");
    let raw = http::request_bytes("POST", &target, Some(body.as_bytes()), case.framing);
    let answer = match dockerd.send(&raw) {
        Ok(answer) => answer,
        Err(e) => return Outcome::Problem(format!("sending to dockerd: {e}")),
    };
    let name = format!("diffopt-{}", case.n);
    let mut seen = VolumeSeen::default();
    if answer.status() == 201 {
        let volume = dockerd.get_json(&format!("/volumes/{name}"));
        seen.driver = volume["Driver"].as_str().unwrap_or_default().to_owned();
        seen.options = volume["Options"].clone();
        let mountpoint = volume["Mountpoint"].as_str().unwrap_or_default().to_owned();
        let container = format!(
            r#"{{"Image":"{IMAGE}","Cmd":["sleep","60"],"HostConfig":{{"NetworkMode":"none","Binds":["{name}:/v"]}}}}"#
        );
        match start_container(dockerd, &format!("diffopt-c-{}", case.n), &container) {
            Err(e) => seen.start_error = Some(e),
            Ok((id, _)) => {
                seen.mounted = mounted_at(&mountpoint);
                remove(dockerd, &id);
            }
        }
        let _ = dockerd.request("DELETE", &format!("/volumes/{name}?force=1"), None);
    } else {
        seen.refused = Some(format!("{} {}", answer.status(), answer.text().trim()));
    }
    let req = match sdk_request(proxy, "POST", &target) {
        Ok(req) => req,
        Err(problem) => return Outcome::Problem(problem),
    };
    let (volume, mounts) = match (req.volume_create(), req.mounts()) {
        (Ok(volume), Ok(mounts)) => (volume, mounts),
        (Err(e), _) | (_, Err(e)) => {
            return Outcome::Problem(format!("the SDK cannot read the volume create: {e}"));
        }
    };
    let (fields, mismatches) = compare::volume(&volume, mounts, &seen);
    Outcome::Compared {
        fields,
        mismatches,
        target,
        recorded: Some(Value::String(format!("{seen:?}"))),
        live: seen.mounted.is_some(),
        naive_caught: compare::naive_volume_disagrees(&volume, &seen),
        // Option cases nest every field.
        ignored_top_level: 0,
        body,
    }
}

/// `POST /containers/create` with the case's body, then start; the
/// running process's status and mount table say what the daemon did.
pub(super) fn run_container(dockerd: &Dockerd, proxy: &Proxy, case: &Case) -> Outcome {
    let target = format!(
        "{}/containers/create?name=diffrun-{}",
        case.prefix(),
        case.n
    );
    let body = case.body_for("");
    let raw = http::request_bytes("POST", &target, Some(body.as_bytes()), case.framing);
    let answer = match dockerd.send(&raw) {
        Ok(answer) => answer,
        Err(e) => return Outcome::Problem(format!("sending to dockerd: {e}")),
    };
    let mut seen = RunSeen::default();
    if answer.status() == 201 {
        let id = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|v| v["Id"].as_str().map(str::to_owned))
            .unwrap_or_default();
        match start(dockerd, &id) {
            Err(e) => seen.start_error = Some(e),
            Ok(pid) => {
                seen.status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                seen.mountinfo =
                    std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
            }
        }
        remove(dockerd, &id);
    } else {
        seen.refused = Some(format!("{} {}", answer.status(), answer.text().trim()));
    }
    let req = match sdk_request(proxy, "POST", &target) {
        Ok(req) => req,
        Err(problem) => return Outcome::Problem(problem),
    };
    let create = match req.container_create() {
        Ok(create) => create,
        Err(e) => return Outcome::Problem(format!("the SDK cannot read the create: {e}")),
    };
    let (fields, mismatches) = compare::run(&create, &seen, dockerd.version);
    Outcome::Compared {
        fields,
        mismatches,
        target,
        recorded: Some(Value::String(format!(
            "refused={:?} start_error={:?}",
            seen.refused, seen.start_error
        ))),
        live: !seen.status.is_empty(),
        naive_caught: compare::naive_run_disagrees(&create, &seen, dockerd.version),
        // Option cases nest every field.
        ignored_top_level: 0,
        body,
    }
}

/// Creates and starts a container; its ID and the PID of its process.
fn start_container(dockerd: &Dockerd, name: &str, body: &str) -> Result<(String, u32), String> {
    let answer = dockerd
        .request(
            "POST",
            &format!("/containers/create?name={name}"),
            Some(body.as_bytes()),
        )
        .map_err(|e| e.to_string())?;
    if answer.status() != 201 {
        return Err(format!("{} {}", answer.status(), answer.text().trim()));
    }
    let id = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|v| v["Id"].as_str().map(str::to_owned))
        .ok_or("no Id")?;
    match start(dockerd, &id) {
        Ok(pid) => Ok((id, pid)),
        Err(e) => {
            remove(dockerd, &id);
            Err(e)
        }
    }
}

/// Starts container `id`; the PID of its process.
fn start(dockerd: &Dockerd, id: &str) -> Result<u32, String> {
    let answer = dockerd
        .request("POST", &format!("/containers/{id}/start"), None)
        .map_err(|e| e.to_string())?;
    if answer.status() != 204 {
        return Err(format!("{} {}", answer.status(), answer.text().trim()));
    }
    let inspect = dockerd.get_json(&format!("/containers/{id}/json"));
    inspect["State"]["Pid"]
        .as_u64()
        .and_then(|pid| u32::try_from(pid).ok())
        .filter(|pid| *pid > 0)
        .ok_or_else(|| format!("no PID: {}", inspect["State"]))
}

/// What is mounted at `path` in this (the daemon's) mount namespace, and
/// whether it is `/tmp` itself (a bind of it).
fn mounted_at(path: &str) -> Option<SeenMount> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let fstype = table.lines().rev().find_map(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        let dash = fields.iter().position(|f| *f == "-")?;
        if fields.get(4) != Some(&path) {
            return None;
        }
        fields.get(dash + 1).map(|t| (*t).to_owned())
    })?;
    let same =
        |a: &std::fs::Metadata, b: &std::fs::Metadata| a.dev() == b.dev() && a.ino() == b.ino();
    let is_tmp = match (std::fs::metadata(path), std::fs::metadata("/tmp")) {
        (Ok(here), Ok(tmp)) => same(&here, &tmp),
        _ => false,
    };
    Some(SeenMount { fstype, is_tmp })
}
