//! `HostConfig.SecurityOpt` entries read the way the daemon's
//! `parseSecurityOpt` reads them (moby `daemon/daemon_unix.go`, at create):
//! `no-new-privileges`, `disable` and (28.5) `writable-cgroups` bare, and
//! otherwise `key=value`, or the old `key:value` when there is no `=`,
//! split at the first separator. Keys are matched exactly: no trimming, no
//! case folding, so `Seccomp=unconfined` and ` seccomp=unconfined` are
//! refused by the daemon, not read as `seccomp`.

/// One security option, as the daemon applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityOpt<'a> {
    /// `no-new-privileges` (bare: `true`), with Go's `ParseBool` value.
    NoNewPrivileges(bool),
    /// `writable-cgroups` (bare: `true`; dockerd 28.5 only, older daemons
    /// refuse it): the container's cgroup filesystem mounted read-write.
    WritableCgroups(bool),
    /// An SELinux label option (`disable`, `type:spc_t`, `level:s0`); bare
    /// `disable` is `Label("disable")`.
    Label(&'a str),
    /// An AppArmor profile name (`unconfined`, `docker-default`, …).
    AppArmor(&'a str),
    /// A seccomp profile: `unconfined`, `builtin` (26.1+), `""` (the
    /// daemon's default) or the profile's JSON text.
    Seccomp(&'a str),
}

/// Why the daemon refuses a security option (`invalid --security-opt 1`
/// or `2`: the container is not created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityOptError {
    /// The option, as written.
    pub option: String,
    /// Why.
    pub reason: &'static str,
}

impl std::fmt::Display for SecurityOptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?})", self.reason, self.option)
    }
}

impl std::error::Error for SecurityOptError {}

impl<'a> SecurityOpt<'a> {
    /// Reads one entry as dockerd 28.5 does (20.10 and 26.1 read the same,
    /// but refuse `writable-cgroups`).
    pub fn parse(option: &'a str) -> Result<Self, SecurityOptError> {
        let refuse = |reason| {
            Err(SecurityOptError {
                option: option.to_owned(),
                reason,
            })
        };
        match option {
            "no-new-privileges" => return Ok(SecurityOpt::NoNewPrivileges(true)),
            "writable-cgroups" => return Ok(SecurityOpt::WritableCgroups(true)),
            "disable" => return Ok(SecurityOpt::Label("disable")),
            _ => {}
        }
        let Some((key, value)) = option.split_once('=').or_else(|| option.split_once(':')) else {
            return refuse("neither key=value nor key:value");
        };
        match key {
            "label" => Ok(SecurityOpt::Label(value)),
            "apparmor" => Ok(SecurityOpt::AppArmor(value)),
            "seccomp" => Ok(SecurityOpt::Seccomp(value)),
            "no-new-privileges" => match parse_bool(value) {
                Some(on) => Ok(SecurityOpt::NoNewPrivileges(on)),
                None => refuse("not a boolean"),
            },
            "writable-cgroups" => match parse_bool(value) {
                Some(on) => Ok(SecurityOpt::WritableCgroups(on)),
                None => refuse("not a boolean"),
            },
            _ => refuse("not a key the daemon knows"),
        }
    }

    /// Whether dockerd 20.10 and 26.1 refuse this option (they predate it).
    pub fn needs_28(&self) -> bool {
        matches!(self, SecurityOpt::WritableCgroups(_))
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_bare_words_are_read_as_the_daemon_reads_them() {
        use SecurityOpt::*;
        for (option, parsed) in [
            ("no-new-privileges", NoNewPrivileges(true)),
            ("no-new-privileges=false", NoNewPrivileges(false)),
            ("no-new-privileges:T", NoNewPrivileges(true)),
            ("writable-cgroups", WritableCgroups(true)),
            ("writable-cgroups=0", WritableCgroups(false)),
            ("disable", Label("disable")),
            ("label=disable", Label("disable")),
            ("label:type:spc_t", Label("type:spc_t")),
            ("label=level:s0:c1,c2", Label("level:s0:c1,c2")),
            ("apparmor=unconfined", AppArmor("unconfined")),
            ("seccomp:unconfined", Seccomp("unconfined")),
            ("seccomp=", Seccomp("")),
            ("seccomp={\"a\":\"b=c\"}", Seccomp("{\"a\":\"b=c\"}")),
        ] {
            assert_eq!(SecurityOpt::parse(option), Ok(parsed), "{option}");
        }
        // Any `=` is the separator, even after a `:`: the key is `seccomp:x`.
        assert!(SecurityOpt::parse("seccomp:x=unconfined").is_err());
    }

    #[test]
    fn nothing_is_trimmed_or_folded() {
        for option in [
            " seccomp=unconfined",
            "seccomp =unconfined",
            "Seccomp=unconfined",
            "APPARMOR=unconfined",
            "no-new-privileges=yes",
            "no-new-privileges ",
            "disable ",
            "systempaths=unconfined",
            "whatever",
        ] {
            assert!(SecurityOpt::parse(option).is_err(), "{option:?}");
        }
        // The value is kept as written: ` unconfined` is not `unconfined`.
        assert_eq!(
            SecurityOpt::parse("apparmor= unconfined"),
            Ok(SecurityOpt::AppArmor(" unconfined"))
        );
    }
}
