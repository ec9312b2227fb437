//! `--security-opt`, read the way the daemon's `parseSecurityOpt` reads it
//! (moby `daemon/daemon_unix.go`, 20.10 and 26.1): `no-new-privileges` and
//! `disable` bare, otherwise `key=value` (or the old `key:value` when there
//! is no `=`), keys matched exactly. Only values known to keep confinement
//! on pass; the rest must be named in the config.

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
    let (key, value) = match option {
        "no-new-privileges" => return Ok(()),
        "disable" => ("label", "disable"),
        _ => match option.split_once('=').or_else(|| option.split_once(':')) {
            Some(pair) => pair,
            None => return refused("the daemon does not know it"),
        },
    };
    match (key, value) {
        ("label" | "apparmor" | "seccomp", "unconfined" | "disable") if config.allow_unconfined => {
            Ok(())
        }
        ("label", "disable") | ("apparmor" | "seccomp", "unconfined") => {
            refused("it switches confinement off")
        }
        ("label", _) => refused("SELinux labels must be listed in allowed_security_options"),
        ("apparmor", "docker-default") => Ok(()),
        ("apparmor", _) => refused("AppArmor profiles must be listed in allowed_security_options"),
        // `builtin` (26.1) and an empty value select the daemon's default profile.
        ("seccomp", "builtin" | "") => Ok(()),
        ("seccomp", profile) => {
            let digest = profile_digest(profile);
            if config.allowed_seccomp_profiles.contains(&digest) {
                Ok(())
            } else {
                Err(format!(
                    "inline seccomp profile {digest} is not in allowed_seccomp_profiles"
                ))
            }
        }
        ("no-new-privileges", value) if parses_true(value) => Ok(()),
        ("no-new-privileges", _) => refused("it can only be switched on"),
        _ => refused("the daemon does not know it"),
    }
}

/// `sha256:<hex>` of a seccomp profile's JSON text, as the client sent it.
pub(crate) fn profile_digest(profile: &str) -> String {
    let digest = Sha256::digest(profile.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Go's `strconv.ParseBool`, true side.
fn parses_true(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "TRUE" | "true" | "True")
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
        ] {
            let why = judge(option, &strict()).unwrap_err();
            assert!(why.contains("switches confinement off"), "{option}: {why}");
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
