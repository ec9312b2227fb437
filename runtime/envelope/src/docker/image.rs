//! Image references as the daemon normalises them, and `POST /images/create`
//! (pull or import), whose parameters live in the query, not the body.

use std::collections::BTreeMap;

/// A parsed image reference: `registry/repository[:tag][@digest]`, with
/// Docker's defaults filled in (`busybox` is `docker.io/library/busybox:latest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// Registry host (`docker.io`, `registry.example.com:5000`, `localhost`).
    pub registry: String,
    /// Repository path within the registry (`library/busybox`).
    pub repository: String,
    /// Tag, if any was given (the daemon uses `latest` when neither tag nor digest is).
    pub tag: Option<String>,
    /// Digest (`sha256:…`), if given.
    pub digest: Option<String>,
}

impl ImageReference {
    /// Parses `reference` the way Docker's `ParseNormalizedNamed` does: the
    /// first path component is a registry only if it contains `.` or `:` or
    /// is `localhost`; a bare name on Docker Hub lives under `library/`.
    pub fn parse(reference: &str) -> ImageReference {
        let (name, digest) = match reference.split_once('@') {
            Some((name, digest)) => (name, Some(digest.to_owned())),
            None => (reference, None),
        };
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (
                &name[..last_slash + i],
                Some(name[last_slash + i + 1..].to_owned()),
            ),
            None => (name, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => ("docker.io".to_owned(), name.to_owned()),
        };
        let registry = if registry == "index.docker.io" {
            "docker.io".to_owned()
        } else {
            registry
        };
        let repository = if registry == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        ImageReference {
            registry,
            repository,
            tag,
            digest,
        }
    }

    /// Whether the image comes from Docker Hub.
    pub fn is_docker_hub(&self) -> bool {
        self.registry == "docker.io"
    }
}

/// `POST /images/create`: a pull (`fromImage`) or an import (`fromSrc`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageCreate {
    /// Image to pull, if this is a pull.
    pub from_image: Option<String>,
    /// Tag or digest to pull.
    pub tag: Option<String>,
    /// Import source (`-` for the request body, or a URL), if this is an import.
    pub from_src: Option<String>,
    /// Repository an import is tagged into.
    pub repo: Option<String>,
    /// Platform (`linux/amd64`).
    pub platform: Option<String>,
}

impl ImageCreate {
    /// Reads the query parameters of `POST /images/create`.
    pub fn from_query(query: &BTreeMap<String, String>) -> ImageCreate {
        let get = |key: &str| query.get(key).filter(|v| !v.is_empty()).cloned();
        ImageCreate {
            from_image: get("fromImage"),
            tag: get("tag"),
            from_src: get("fromSrc"),
            repo: get("repo"),
            platform: get("platform"),
        }
    }

    /// The reference being pulled (`fromImage` with `tag` applied), if a pull.
    pub fn pulled(&self) -> Option<ImageReference> {
        let image = self.from_image.as_deref()?;
        let full = match self.tag.as_deref() {
            Some(tag) if tag.contains(':') => format!("{image}@{tag}"),
            Some(tag) => format!("{image}:{tag}"),
            None => image.to_owned(),
        };
        Some(ImageReference::parse(&full))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(reference: &str) -> (String, String, Option<String>, Option<String>) {
        let r = ImageReference::parse(reference);
        (r.registry, r.repository, r.tag, r.digest)
    }

    #[test]
    fn docker_hub_names_are_normalised() {
        assert_eq!(
            parts("busybox"),
            ("docker.io".into(), "library/busybox".into(), None, None)
        );
        assert_eq!(
            parts("user/app:1.2"),
            (
                "docker.io".into(),
                "user/app".into(),
                Some("1.2".into()),
                None
            )
        );
        assert_eq!(parts("index.docker.io/library/busybox").0, "docker.io");
    }

    #[test]
    fn registries_are_told_apart_from_user_names() {
        assert_eq!(
            parts("registry.example.com/team/app").0,
            "registry.example.com"
        );
        assert_eq!(
            parts("localhost:5000/app:dev"),
            (
                "localhost:5000".into(),
                "app".into(),
                Some("dev".into()),
                None
            )
        );
        assert_eq!(parts("localhost/app").0, "localhost");
        assert_eq!(
            parts("evil.example.com:443/library/busybox").0,
            "evil.example.com:443"
        );
    }

    #[test]
    fn digests_and_ports_are_not_tags() {
        let r = ImageReference::parse("reg:5000/app@sha256:abcd");
        assert_eq!(
            (r.registry.as_str(), r.tag, r.digest.as_deref()),
            ("reg:5000", None, Some("sha256:abcd"))
        );
    }

    #[test]
    fn pull_parameters_come_from_the_query() {
        let query = BTreeMap::from([
            ("fromImage".to_owned(), "quay.io/x/y".to_owned()),
            ("tag".to_owned(), "v1".to_owned()),
        ]);
        let pull = ImageCreate::from_query(&query).pulled().unwrap();
        assert_eq!(
            (pull.registry.as_str(), pull.tag.as_deref()),
            ("quay.io", Some("v1"))
        );
        let import = BTreeMap::from([("fromSrc".to_owned(), "-".to_owned())]);
        assert_eq!(ImageCreate::from_query(&import).pulled(), None);
    }
}
