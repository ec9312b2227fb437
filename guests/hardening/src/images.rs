//! Where images come from: pulls and the registry of every image a
//! container or service uses, the calls that bring images in without a
//! registry (`docker load`, `import`, `build`), whose archives and build
//! contexts Docker never shows a plugin, and the calls that write image
//! names (`tag`, `commit`, `import`, `build -t`, `load`): a name inside an
//! allowed registry claims a pull from it, so only a pull may write one.

use portcullis_sdk::Request;
use portcullis_sdk::docker::ImageReference;

use crate::config::Config;
use crate::{Violations, unseen};

/// `image_create`, `images_load`, `image_build` (and BuildKit's `session`
/// and `grpc`), `image_push`, `image_tag`, `container_commit`.
pub(crate) fn check_call(req: &Request, config: &Config, out: &mut Violations) {
    match req.action() {
        "image_create" => {
            let create = req.image_create();
            if let Some(pulled) = create.pulled() {
                check_registry(&pulled, config, out);
            } else {
                if let Some(repo) = create.repo.as_deref() {
                    check_written_name("importing an image as", repo, config, out);
                }
                // The daemon imports `fromSrc`: `-` is the request body, anything else a URL.
                match create.from_src.as_deref() {
                    Some("-") if !config.allow_image_archives => out.push(unseen(
                        "importing an image",
                        "the archive",
                        "allow_image_archives",
                    )),
                    Some("-") => {}
                    source if !config.allow_remote_urls => out.push(format!(
                        "importing an image from {:?} is not allowed: the daemon would download it (set allow_remote_urls = true to allow it)",
                        source.unwrap_or_default()
                    )),
                    _ => {}
                }
            }
        }
        "images_load" if !config.allow_image_archives => {
            out.push(unseen(
                "loading images",
                "the archive",
                "allow_image_archives",
            ));
        }
        "images_load" if config.allowed_registries.is_some() => out.push(
            "loading images is not allowed with allowed_registries: the archive names its images wherever it likes (inside an allowed registry too), and Docker does not show it",
        ),
        "image_tag" => {
            let repo = req.query("repo").unwrap_or_default();
            check_written_name("tagging an image as", repo, config, out);
        }
        "container_commit" => {
            if let Some(repo) = req.query("repo").filter(|repo| !repo.is_empty()) {
                check_written_name("committing a container as", repo, config, out);
            }
        }
        "image_build" | "session" | "grpc" => check_build(req, config, out),
        "image_push" => {
            if let Some(name) = req.param("name") {
                check_registry(&ImageReference::parse(name), config, out);
            }
        }
        _ => {}
    }
}

fn check_build(req: &Request, config: &Config, out: &mut Violations) {
    if !config.allow_build {
        out.push(unseen(
            "building images",
            "the build context and its Dockerfile",
            "allow_build",
        ));
        return;
    }
    if req.action() != "image_build" {
        return;
    }
    let build = req.image_build();
    let mode = build.network_mode.as_str();
    if mode.eq_ignore_ascii_case("host") && !config.allow_host_namespaces {
        out.push("building with the host network namespace is not allowed");
    }
    if let Some((kind, container)) = mode.split_once(':')
        && kind.eq_ignore_ascii_case("container")
        && !config.joinable(container)
    {
        out.push(format!(
            "building in the network namespace of container {container} is not allowed"
        ));
    }
    for tag in &build.tags {
        check_written_name("building an image named", tag, config, out);
    }
    if !build.remote.is_empty() && !config.allow_remote_urls {
        out.push(format!(
            "building from {:?} is not allowed: the daemon would download it (set allow_remote_urls = true to allow it)",
            build.remote
        ));
    }
}

/// The registry of an image a container runs on this host: pulled from an
/// allowed registry, or named here in a local one.
pub(crate) fn check_image(image: &str, config: &Config, out: &mut Violations) {
    check_named_image(image, |registry| config.registry_runnable(registry), out);
}

/// The registry of an image a swarm node or the plugin manager pulls
/// (services, managed plugins): a local name is no registry to pull from.
pub(crate) fn check_pulled_image(image: &str, config: &Config, out: &mut Violations) {
    check_named_image(image, |registry| config.registry_allowed(registry), out);
}

fn check_named_image(image: &str, allowed: impl Fn(&str) -> bool, out: &mut Violations) {
    // An image ID names an image already on the host; how it got there was
    // judged then.
    let id = image.strip_prefix("sha256:").unwrap_or(image);
    let is_id = id.len() >= 12 && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !image.is_empty() && !is_id {
        let reference = ImageReference::parse(image);
        if !allowed(&reference.registry) {
            out.push(format!(
                "images from {} ({}) are not allowed",
                reference.registry, reference.repository
            ));
        }
    }
}

/// A name this host writes (`what` it is for): allowed only where no pull
/// could have written it (`local_registries`), when registries are ruled.
fn check_written_name(what: &str, name: &str, config: &Config, out: &mut Violations) {
    let reference = ImageReference::parse(name);
    if !config.name_writable(&reference.registry) {
        out.push(format!(
            "{what} {name:?} is not allowed: a name in registry {} claims the image was pulled from it; name images made on this host in a registry listed in local_registries (e.g. localhost/{})",
            reference.registry,
            reference.repository.rsplit('/').next().unwrap_or_default()
        ));
    }
}

/// A pull (or push) from `reference`'s registry.
fn check_registry(reference: &ImageReference, config: &Config, out: &mut Violations) {
    if !config.registry_allowed(&reference.registry) {
        out.push(format!(
            "images from {} ({}) are not allowed",
            reference.registry, reference.repository
        ));
    }
}

#[cfg(test)]
mod tests {
    use portcullis_sdk::testing::RequestBuilder;
    use portcullis_sdk::{Decision, IntoDecision, assert_allowed, assert_denied};

    use crate::{Config, authorize};

    /// Images from Docker Hub only; names made here go under `localhost`.
    fn hub_only() -> Config {
        serde_json::from_str(
            r#"{"allowed_registries": ["docker.io"], "local_registries": ["localhost"],
                "allow_build": true, "allow_image_archives": true}"#,
        )
        .unwrap()
    }

    fn decide(method: &str, target: &str, config: &Config) -> Decision {
        authorize(&RequestBuilder::new(method, target).build(), config).into_decision()
    }

    #[test]
    fn names_inside_an_allowed_registry_are_written_only_by_pulls() {
        let config = hub_only();
        for (target, what) in [
            // The finding: a local image retagged as a trusted Hub name.
            (
                "/v1.41/images/mini/tag?repo=docker.io%2Flibrary%2Falpine&tag=latest",
                "tagging an image as \"docker.io/library/alpine\"",
            ),
            (
                "/v1.41/images/mini/tag?repo=alpine",
                "tagging an image as \"alpine\"",
            ),
            (
                "/v1.41/images/mini/tag?repo=index.docker.io%2Fattacker%2Fapp",
                "tagging",
            ),
            (
                "/v1.41/commit?container=web&repo=nginx&tag=1",
                "committing a container as \"nginx\"",
            ),
            (
                "/v1.41/images/create?fromSrc=-&repo=busybox",
                "importing an image as \"busybox\"",
            ),
            (
                "/v1.41/build?t=localhost%2Fok&t=busybox%3Alatest",
                "building an image named \"busybox:latest\"",
            ),
            (
                "/v1.41/images/load",
                "loading images is not allowed with allowed_registries",
            ),
        ] {
            let decision = decide("POST", target, &config);
            assert_denied!(decision.clone(), what);
            if !target.contains("load") {
                assert_denied!(decision, "local_registries");
            }
        }
        for target in [
            "/v1.41/images/mini/tag?repo=localhost%2Fmini&tag=2",
            "/v1.41/commit?container=web&repo=localhost%2Fsnapshot",
            "/v1.41/commit?container=web",
            "/v1.41/images/create?fromSrc=-&repo=localhost%2Frootfs",
            "/v1.41/images/create?fromSrc=-",
            "/v1.41/build?t=localhost%2Fapp%3A1&t=localhost%2Fapp%3Alatest",
            "/v1.41/build",
            "/v1.41/images/create?fromImage=busybox&tag=latest",
        ] {
            assert_allowed!(decide("POST", target, &config).clone());
        }
    }

    #[test]
    fn local_names_run_but_are_never_pulled() {
        let config = hub_only();
        let run = |image: &str| {
            authorize(
                &RequestBuilder::post_json(
                    "/v1.41/containers/create",
                    &format!(r#"{{"Image":"{image}","HostConfig":{{}}}}"#),
                )
                .build(),
                &config,
            )
            .into_decision()
        };
        assert_allowed!(run("localhost/app:1"));
        assert_allowed!(run("busybox"));
        assert_denied!(
            run("evil.example.com/miner"),
            "images from evil.example.com"
        );
        assert_denied!(
            decide(
                "POST",
                "/v1.41/images/create?fromImage=localhost%2Fapp",
                &config
            ),
            "images from localhost"
        );
        assert_denied!(
            decide("POST", "/v1.41/images/localhost%2Fapp/push", &config),
            "images from localhost"
        );
    }

    #[test]
    fn without_registry_rules_names_are_free() {
        let config = Config {
            allow_build: true,
            allow_image_archives: true,
            ..Config::default()
        };
        for target in [
            "/v1.41/images/mini/tag?repo=docker.io%2Flibrary%2Falpine",
            "/v1.41/commit?container=web&repo=nginx",
            "/v1.41/build?t=busybox",
            "/v1.41/images/load",
        ] {
            assert_allowed!(decide("POST", target, &config));
        }
    }
}
