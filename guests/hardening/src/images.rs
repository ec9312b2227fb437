//! Where images come from: pulls and the registry of every image a
//! container or service uses, and the calls that bring images in without a
//! registry (`docker load`, `import`, `build`), whose archives and build
//! contexts Docker never shows a plugin.

use portcullis_sdk::Request;
use portcullis_sdk::docker::ImageReference;

use crate::config::Config;
use crate::{Violations, unseen};

/// `image_create`, `images_load`, `image_build` (and BuildKit's `session`
/// and `grpc`), `image_push`.
pub(crate) fn check_call(req: &Request, config: &Config, out: &mut Violations) {
    match req.action() {
        "image_create" => {
            let create = req.image_create();
            if let Some(pulled) = create.pulled() {
                check_registry(&pulled, config, out);
            } else {
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
    if !build.remote.is_empty() && !config.allow_remote_urls {
        out.push(format!(
            "building from {:?} is not allowed: the daemon would download it (set allow_remote_urls = true to allow it)",
            build.remote
        ));
    }
}

/// The registry of an image a container or service runs.
pub(crate) fn check_image(image: &str, config: &Config, out: &mut Violations) {
    // An image ID names an image already on the host; its pull was judged then.
    let id = image.strip_prefix("sha256:").unwrap_or(image);
    let is_id = id.len() >= 12 && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !image.is_empty() && !is_id {
        check_registry(&ImageReference::parse(image), config, out);
    }
}

fn check_registry(reference: &ImageReference, config: &Config, out: &mut Violations) {
    if !config.registry_allowed(&reference.registry) {
        out.push(format!(
            "images from {} ({}) are not allowed",
            reference.registry, reference.repository
        ));
    }
}
