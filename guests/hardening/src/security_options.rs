//! `--security-opt`, read by the SDK's [`SecurityOpt::parse`], which reads
//! it as the daemon's `parseSecurityOpt` does (moby `daemon/daemon_unix.go`,
//! 20.10 to 28.5): `no-new-privileges`, `disable` and `writable-cgroups`
//! bare, otherwise `key=value` (or the old `key:value` when there is no
//! `=`), nothing trimmed, keys matched exactly. Only values known to keep
//! confinement on pass; the rest must be named in the config.

use portcullis_sdk::docker::SecurityOpt;
use sha2::{Digest, Sha256};

use crate::Violations;
use crate::config::Config;

/// Judges every security option of a container.
pub(crate) fn check_security_options(options: &[String], config: &Config, out: &mut Violations) {
    for option in options {
        if let Err(why) = judge(option, config) {
            out.push(why);
        }
    }
}

fn judge(option: &str, config: &Config) -> Result<(), String> {
    if config.allowed_security_options.iter().any(|o| o == option) {
        return Ok(());
    }
    let refused = |why: &str| Err(format!("security option {option} is not allowed ({why})"));
    let parsed = match SecurityOpt::parse(option) {
        Ok(parsed) => parsed,
        Err(_) => return refused("the daemon does not know it"),
    };
    match parsed {
        SecurityOpt::NoNewPrivileges(true) | SecurityOpt::WritableCgroups(false) => Ok(()),
        SecurityOpt::NoNewPrivileges(false) => refused("it can only be switched on"),
        SecurityOpt::Label("disable")
        | SecurityOpt::AppArmor("unconfined")
        | SecurityOpt::Seccomp("unconfined")
            if config.allow_unconfined =>
        {
            Ok(())
        }
        SecurityOpt::Label("disable")
        | SecurityOpt::AppArmor("unconfined")
        | SecurityOpt::Seccomp("unconfined") => refused("it switches confinement off"),
        SecurityOpt::WritableCgroups(true) if config.allow_unconfined => Ok(()),
        SecurityOpt::WritableCgroups(true) => {
            refused("it makes the cgroup filesystem writable in the container")
        }
        SecurityOpt::Label(_) => {
            refused("SELinux labels must be listed in allowed_security_options")
        }
        SecurityOpt::AppArmor("docker-default") => Ok(()),
        SecurityOpt::AppArmor(_) => {
            refused("AppArmor profiles must be listed in allowed_security_options")
        }
        // `builtin` (26.1+) and an empty value select the daemon's default profile.
        SecurityOpt::Seccomp("builtin" | "") => Ok(()),
        SecurityOpt::Seccomp(profile) => {
            let digest = profile_digest(profile);
            if config.allowed_seccomp_profiles.contains(&digest) {
                Ok(())
            } else {
                Err(format!(
                    "inline seccomp profile {digest} is not in allowed_seccomp_profiles"
                ))
            }
        }
    }
}

/// `sha256:<hex>` of a seccomp profile's JSON text, as the client sent it.
pub(crate) fn profile_digest(profile: &str) -> String {
    let digest = Sha256::digest(profile.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> Config {
        Config::default()
    }

    #[test]
    fn known_safe_options_pass() {
        for option in [
            "no-new-privileges",
            "no-new-privileges=true",
            "no-new-privileges:1",
            "apparmor=docker-default",
            "seccomp=builtin",
            "writable-cgroups=false",
        ] {
            assert_eq!(judge(option, &strict()), Ok(()), "{option}");
        }
    }

    #[test]
    fn unconfined_in_every_spelling_the_daemon_accepts_is_refused() {
        for option in [
            "seccomp=unconfined",
            "seccomp:unconfined",
            "apparmor=unconfined",
            "apparmor:unconfined",
            "label=disable",
            "label:disable",
            "disable",
            "writable-cgroups",
            "writable-cgroups=true",
            "writable-cgroups:1",
        ] {
            let why = judge(option, &strict()).unwrap_err();
            assert!(
                why.contains("switches confinement off") || why.contains("cgroup filesystem"),
                "{option}: {why}"
            );
            assert_eq!(
                judge(
                    option,
                    &Config {
                        allow_unconfined: true,
                        ..strict()
                    }
                ),
                Ok(())
            );
        }
    }

    #[test]
    fn labels_profiles_and_unknown_keys_need_the_allow_list() {
        for option in [
            "label=type:spc_t",
            "label:user:system_u",
            "apparmor=my-profile",
            "no-new-privileges=false",
            "systempaths=unconfined",
            "Seccomp=unconfined",
            " seccomp=unconfined",
            "seccomp =unconfined",
            "apparmor= unconfined",
            "no-new-privileges=yes",
            "whatever",
        ] {
            assert!(judge(option, &strict()).is_err(), "{option}");
        }
        let config = Config {
            allowed_security_options: vec!["label=level:s0:c100,c200".into()],
            ..strict()
        };
        assert_eq!(judge("label=level:s0:c100,c200", &config), Ok(()));
    }

    #[test]
    fn inline_seccomp_profiles_pass_only_by_digest() {
        let profile = r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#;
        let option = format!("seccomp={profile}");
        let why = judge(&option, &strict()).unwrap_err();
        let digest = profile_digest(profile);
        assert!(why.contains(&digest), "{why}");
        let config = Config {
            allowed_seccomp_profiles: vec![digest],
            ..strict()
        };
        assert_eq!(judge(&option, &config), Ok(()));
    }
}
