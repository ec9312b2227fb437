//! The corpus: `containers/create` and pre-1.24 `containers/{id}/start`
//! bodies generated from a table of security-relevant `HostConfig` fields
//! crossed with the ways Docker's decoder can be addressed (where the field
//! sits, how its key is spelled, repeated keys, `null`, API version).
//!
//! Every case is a complete raw body; `{{donor}}` stands for the ID of an
//! existing container (for `container:<id>` modes and `VolumesFrom`) and
//! `{{n}}` for the case number (unique volume names).
//!
//! Which mutations each field gets:
//!
//! | mutation | core fields | other fields |
//! |---|---|---|
//! | placement: nested, top level, top level + `"HostConfig":null`, top level + nested `{}`, nested twice (`{}` / `null` after, `null` before) | all 7 | nested, top level, top level + nested `{}` |
//! | key spelling (nested): lower, upper, `\u00XX` escape, Kelvin sign for `k`, long s for `s` | all that apply, and lower case at the top level | lower case, and Kelvin / long s where the name has one |
//! | the field repeated: dangerous then benign, benign then dangerous, and a Go element-wise merge where one exists | all | dangerous then benign, merge |
//! | `null`: alone, and after the dangerous value | both | after the dangerous value |
//! | API version prefix (nested; also top level for Privileged and Binds) | every version | `/v1.41` only |
//! | other samples of the field | nested and top level | nested |
//!
//! Core fields: Privileged, Binds, CapAdd, NetworkMode, PidMode,
//! SecurityOpt, MaskedPaths, Mounts. The `HostConfig` key itself is also
//! spelled four other ways (for Privileged, Binds, CapAdd), and a plain body
//! with no `HostConfig` and one with `"HostConfig":{}` go to every version.
//!
//! Start bodies (API 1.23; 1.12 for the core fields' lower-case top-level
//! form): every field with a `start` sample, nested and at the top level;
//! for Privileged also chunked, top level + nested `{}`, `"HostConfig":null`
//! after either, bodies that select no HostConfig (`{"Image":…}`, `{}`
//! padded past the 7 bytes below which Docker ignores a start body,
//! `{"HostConfig":null}`), and a body at API 1.24 and with no version
//! (both refused by the daemon).
//!
//! Option strings ([`VOLUME_OPTIONS`], [`RUN_OPTIONS`]), at the daemon's
//! own API version: `local` volume options spelled the ways a decoder
//! could misread (` bind`, `Bind`, a tab, a repeated key, keys with a space
//! or in another case, `device=none`, `remount`), and containers with
//! security options, tmpfs option strings, `TmpfsOptions.Options` and
//! image mounts, each started so that what the daemon did can be read.

use crate::dockerd::http::Framing;
use crate::dockerd::{IMAGE, Version};

/// The API version of every case that does not vary it: the newest both daemons serve.
pub const BASE_API: &str = "1.41";

/// The members every body starts with.
fn base() -> String {
    format!(r#""Image":"{IMAGE}","Cmd":["true"]"#)
}

/// One security-relevant `HostConfig` field and its samples.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The Go field name, as Docker spells it.
    pub go: &'static str,
    /// JSON values the daemon accepts; the first is the dangerous one every
    /// mutation uses, the others are tried plainly.
    pub samples: &'static [&'static str],
    /// A JSON value that grants nothing (for the repeated-key cases).
    pub benign: &'static str,
    /// Crossed with every mutation.
    pub core: bool,
    /// A value harmless to actually start with on this machine, for the
    /// pre-1.24 start-body cases.
    pub start: Option<&'static str>,
    /// Two values that Go merges when the key is repeated (elements of an
    /// array decode into the existing elements; objects merge per key).
    pub merge: Option<(&'static str, &'static str)>,
}

/// The fields under test, with dangerous samples.
pub const FIELDS: &[Field] = &[
    Field {
        go: "Privileged",
        samples: &["true"],
        benign: "false",
        core: true,
        start: Some("true"),
        merge: None,
    },
    Field {
        go: "Binds",
        samples: &[
            r#"["/:/host"]"#,
            r#"["/tmp:/h:ro","diffvol-{{n}}:/v"]"#,
            r#"["/tmp:/h:ro,rshared"]"#,
            r#"["/tmp:/h:rslave,z,nocopy"]"#,
            r#"["/tmp:/h: ro"]"#,
        ],
        benign: "[]",
        core: true,
        start: Some(r#"["/tmp:/h:ro"]"#),
        merge: None,
    },
    Field {
        go: "Mounts",
        samples: &[
            r#"[{"Type":"bind","Source":"/","Target":"/host"}]"#,
            r#"[{"Type":"volume","Source":"diffvol-{{n}}","Target":"/v","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/tmp"}}}}]"#,
            r#"[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576,"Mode":511}}]"#,
            r#"[{"Type":"bind","Source":"/tmp","Target":"/h","ReadOnly":true,"Consistency":"cached","BindOptions":{"Propagation":"rslave","NonRecursive":true,"ReadOnlyNonRecursive":true}}]"#,
            r#"[{"Type":"bind","Source":"/tmp","Target":"/h","BindOptions":{"Propagation":" rshared"}}]"#,
            r#"[{"Type":"bind","Source":"/tmp","Target":"/h","BindOptions":{"CreateMountpoint":true}}]"#,
            r#"[{"Type":"volume","Source":"diffvol-{{n}}","Target":"/v","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"debugfs","o":" bind","device":"/tmp"}}}}]"#,
            r#"[{"Type":"volume","Source":"diffvol-{{n}}","Target":"/v","VolumeOptions":{"Subpath":"x"}}]"#,
        ],
        benign: "[]",
        core: true,
        start: Some(r#"[{"Type":"tmpfs","Target":"/t"}]"#),
        merge: Some((
            r#"[{"Type":"bind","Source":"/","Target":"/host"}]"#,
            r#"[{"Target":"/x"}]"#,
        )),
    },
    Field {
        go: "VolumesFrom",
        samples: &[r#"["{{donor}}:rw"]"#],
        benign: "[]",
        core: false,
        start: None,
        merge: None,
    },
    Field {
        go: "Devices",
        samples: &[
            r#"[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/mem","CgroupPermissions":"rwm"}]"#,
        ],
        benign: "[]",
        core: false,
        start: None,
        merge: Some((
            r#"[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/mem","CgroupPermissions":"r"}]"#,
            r#"[{"CgroupPermissions":"rwm"}]"#,
        )),
    },
    Field {
        go: "DeviceCgroupRules",
        samples: &[r#"["a *:* rwm"]"#],
        benign: "[]",
        core: false,
        start: None,
        merge: None,
    },
    Field {
        go: "DeviceRequests",
        samples: &[
            r#"[{"Driver":"","Count":-1,"Capabilities":[["gpu"]]}]"#,
            r#"[{"Driver":"cdi","DeviceIDs":["vendor.com/class=name"]}]"#,
        ],
        benign: "[]",
        core: false,
        start: None,
        merge: None,
    },
    Field {
        go: "CapAdd",
        samples: &[r#"["SYS_ADMIN"]"#, r#""SYS_ADMIN""#, r#"["ALL"]"#],
        benign: "[]",
        core: true,
        start: Some(r#"["SYS_ADMIN"]"#),
        merge: None,
    },
    Field {
        go: "CapDrop",
        samples: &[r#"["ALL"]"#],
        benign: "[]",
        core: false,
        start: Some(r#"["NET_RAW"]"#),
        merge: None,
    },
    Field {
        go: "NetworkMode",
        samples: &[r#""host""#, r#""none""#, r#""container:{{donor}}""#],
        benign: r#""""#,
        core: true,
        start: Some(r#""host""#),
        merge: None,
    },
    Field {
        go: "PidMode",
        samples: &[r#""host""#, r#""container:{{donor}}""#],
        benign: r#""""#,
        core: true,
        start: Some(r#""host""#),
        merge: None,
    },
    Field {
        go: "IpcMode",
        samples: &[r#""host""#, r#""container:{{donor}}""#, r#""shareable""#],
        benign: r#""""#,
        core: false,
        start: Some(r#""host""#),
        merge: None,
    },
    Field {
        go: "UTSMode",
        samples: &[r#""host""#],
        benign: r#""""#,
        core: false,
        start: Some(r#""host""#),
        merge: None,
    },
    Field {
        go: "UsernsMode",
        samples: &[r#""host""#],
        benign: r#""""#,
        core: false,
        start: None,
        merge: None,
    },
    Field {
        go: "CgroupnsMode",
        samples: &[r#""private""#, r#""host""#],
        benign: r#""""#,
        core: false,
        start: None,
        merge: None,
    },
    Field {
        go: "SecurityOpt",
        samples: &[
            r#"["seccomp=unconfined"]"#,
            r#"["apparmor=unconfined"]"#,
            r#"["label=disable"]"#,
            r#"["disable"]"#,
            r#"["no-new-privileges"]"#,
            r#"["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]"#,
            r#"[" seccomp=unconfined"]"#,
            r#"["writable-cgroups"]"#,
        ],
        benign: "[]",
        core: true,
        start: Some(r#"["no-new-privileges"]"#),
        merge: None,
    },
    Field {
        go: "MaskedPaths",
        samples: &["[]", r#"["/proc/kcore"]"#],
        benign: r#"["/proc/kcore","/sys/firmware"]"#,
        core: true,
        start: Some("[]"),
        merge: None,
    },
    Field {
        go: "ReadonlyPaths",
        samples: &["[]"],
        benign: r#"["/proc/sys"]"#,
        core: false,
        start: Some("[]"),
        merge: None,
    },
    Field {
        go: "Sysctls",
        samples: &[
            r#"{"net.ipv4.ip_unprivileged_port_start":"0"}"#,
            r#"{"net.ipv4.ip_forward ":"1","Net.IPv4.conf.all.rp_filter":"0"}"#,
        ],
        benign: "{}",
        core: false,
        start: Some(r#"{"kernel.shm_rmid_forced":"1"}"#),
        merge: Some((
            r#"{"net.ipv4.ip_unprivileged_port_start":"0"}"#,
            r#"{"kernel.shm_rmid_forced":"1"}"#,
        )),
    },
    Field {
        go: "Runtime",
        samples: &[r#""io.containerd.runc.v2""#],
        benign: r#""""#,
        core: false,
        start: None,
        merge: None,
    },
    Field {
        go: "PortBindings",
        samples: &[r#"{"22/tcp":[{"HostIp":"0.0.0.0","HostPort":"22"}]}"#],
        benign: "{}",
        core: false,
        start: None,
        merge: Some((
            r#"{"22/tcp":[{"HostIp":"0.0.0.0","HostPort":"22"}]}"#,
            r#"{"80/tcp":[{"HostPort":"8080"}]}"#,
        )),
    },
    Field {
        go: "PublishAllPorts",
        samples: &["true"],
        benign: "false",
        core: false,
        start: None,
        merge: None,
    },
    Field {
        go: "VolumeDriver",
        samples: &[r#""evil-driver""#],
        benign: r#""""#,
        core: false,
        start: None,
        merge: None,
    },
    Field {
        go: "Tmpfs",
        samples: &[
            r#"{"/run":"rw,exec,suid"}"#,
            r#"{"/x":"size=1m, exec,rbind"}"#,
        ],
        benign: "{}",
        core: false,
        start: Some(r#"{"/run":"rw,exec"}"#),
        merge: None,
    },
    Field {
        go: "LogConfig",
        samples: &[
            r#"{"Type":"json-file","Config":{"max-size":"1m"}}"#,
            r#"{"Type":"","Config":{"max-file":"2"}}"#,
            r#"{"Type":"json-file","Config":{" max-size":"1m"}}"#,
            r#"{"Type":"none"}"#,
        ],
        benign: "{}",
        core: false,
        start: None,
        merge: Some((r#"{"Type":"json-file"}"#, r#"{"Config":{"max-size":"1m"}}"#)),
    },
    Field {
        go: "StorageOpt",
        samples: &[r#"{"size":"1G"}"#],
        benign: "{}",
        core: false,
        start: None,
        merge: None,
    },
    Field {
        go: "CgroupParent",
        samples: &[r#""/""#],
        benign: r#""""#,
        core: false,
        start: None,
        merge: None,
    },
    Field {
        go: "Init",
        samples: &["true"],
        benign: "false",
        core: false,
        start: Some("true"),
        merge: None,
    },
    Field {
        go: "ReadonlyRootfs",
        samples: &["true"],
        benign: "false",
        core: false,
        start: Some("true"),
        merge: None,
    },
];

/// Which call a case makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /containers/create?name=diff-N` with the body.
    Create,
    /// `POST /containers/create` of a plain container (`NetworkMode: none`),
    /// then `POST /containers/{id}/start` with the body.
    Start,
    /// `POST /volumes/create` with the body; then a container that mounts
    /// the volume is started, and what the daemon mounted for it is read
    /// from the host's mount table.
    Volume,
    /// `POST /containers/create` with the body, then start (`sleep`): what
    /// the daemon made of the option strings is read from the running
    /// process (`/proc/PID/status`, `/proc/PID/mountinfo`).
    Run,
}

/// One request of the corpus.
#[derive(Debug, Clone)]
pub struct Case {
    /// Unique per daemon; names the container `diff-N`.
    pub n: usize,
    /// What it tests, e.g. `Privileged/top-level+HostConfig:null`.
    pub name: String,
    /// The field under test (`-` for the plain bodies).
    pub field: &'static str,
    /// Which call.
    pub endpoint: Endpoint,
    /// The `/vX.Y` prefix's version, `""` for none.
    pub api: &'static str,
    /// The body, placeholders not yet filled.
    pub body: String,
    /// How the body is framed.
    pub framing: Framing,
}

impl Case {
    /// `/vX.Y` or `""`.
    pub fn prefix(&self) -> String {
        if self.api.is_empty() {
            String::new()
        } else {
            format!("/v{}", self.api)
        }
    }

    /// Whether the body writes the field under test at its top level
    /// (the deprecated placement only 20.10 and 26.1 apply).
    pub fn sets_top_level_host_config(&self) -> bool {
        self.name.split_once('/').is_some_and(|(_, how)| {
            how.starts_with("top-level") || how.starts_with("start,top-level")
        })
    }

    /// The body with `{{donor}}` and `{{n}}` filled in.
    pub fn body_for(&self, donor: &str) -> String {
        self.body
            .replace("{{donor}}", donor)
            .replace("{{n}}", &self.n.to_string())
    }
}

/// `"key":value`.
fn member(key: &str, value: &str) -> String {
    format!("\"{key}\":{value}")
}

/// A body: the base members, then `members`.
fn body(members: &[String]) -> String {
    let mut all = vec![base()];
    all.extend(members.iter().cloned());
    format!("{{{}}}", all.join(","))
}

/// `"HostConfig":{members}`.
fn nested(members: &[String]) -> String {
    format!("\"HostConfig\":{{{}}}", members.join(","))
}

/// The other spellings of `name` that Go's case folding still matches.
pub fn spellings(name: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("lower-case", name.to_lowercase()),
        ("upper-case", name.to_uppercase()),
    ];
    let mut chars = name.chars();
    if let Some(first) = chars.next() {
        out.push((
            "\\u-escaped",
            format!("\\u{:04x}{}", first as u32, chars.as_str()),
        ));
    }
    if let Some(at) = name.find(['k', 'K']) {
        out.push((
            "Kelvin-sign",
            format!("{}\u{212A}{}", &name[..at], &name[at + 1..]),
        ));
    }
    if let Some(at) = name.find(['s', 'S']) {
        out.push((
            "long-s",
            format!("{}\u{017F}{}", &name[..at], &name[at + 1..]),
        ));
    }
    out
}

/// Builds the cases of one daemon.
struct Builder {
    cases: Vec<Case>,
    versions: &'static [&'static str],
}

impl Builder {
    fn push(&mut self, field: &'static str, name: String, api: &'static str, body: String) {
        self.push_call(field, name, api, body, Endpoint::Create, Framing::Length);
    }

    fn push_call(
        &mut self,
        field: &'static str,
        name: String,
        api: &'static str,
        body: String,
        endpoint: Endpoint,
        framing: Framing,
    ) {
        self.cases.push(Case {
            n: self.cases.len() + 1,
            name,
            field,
            endpoint,
            api,
            body,
            framing,
        });
    }

    fn field(&mut self, f: &Field) {
        let go = f.go;
        let v = f.samples[0];
        let b = f.benign;
        let kv = member(go, v);
        let api = BASE_API;
        let create = |this: &mut Self, what: &str, members: Vec<String>| {
            this.push(go, format!("{go}/{what}"), api, body(&members));
        };

        // Placement.
        create(self, "nested", vec![nested(std::slice::from_ref(&kv))]);
        create(self, "top-level", vec![kv.clone()]);
        create(
            self,
            "top-level+nested{}",
            vec![kv.clone(), "\"HostConfig\":{}".into()],
        );
        if f.core {
            create(
                self,
                "top-level+HostConfig:null",
                vec![kv.clone(), "\"HostConfig\":null".into()],
            );
            create(
                self,
                "nested,then-HostConfig:{}",
                vec![
                    nested(std::slice::from_ref(&kv)),
                    "\"HostConfig\":{}".into(),
                ],
            );
            create(
                self,
                "nested,then-HostConfig:null",
                vec![
                    nested(std::slice::from_ref(&kv)),
                    "\"HostConfig\":null".into(),
                ],
            );
            create(
                self,
                "HostConfig:null,then-nested",
                vec![
                    "\"HostConfig\":null".into(),
                    nested(std::slice::from_ref(&kv)),
                ],
            );
        }

        // Key spelling.
        for (how, key) in spellings(go) {
            let wanted = f.core || how == "lower-case" || how == "Kelvin-sign" || how == "long-s";
            if wanted {
                create(
                    self,
                    &format!("nested,{how}-key"),
                    vec![nested(&[member(&key, v)])],
                );
            }
        }
        if f.core {
            create(
                self,
                "top-level,lower-case-key",
                vec![member(&go.to_lowercase(), v)],
            );
        }

        // The field repeated.
        create(
            self,
            "nested,dangerous-then-benign",
            vec![nested(&[kv.clone(), member(go, b)])],
        );
        if f.core {
            create(
                self,
                "nested,benign-then-dangerous",
                vec![nested(&[member(go, b), kv.clone()])],
            );
        }
        if let Some((first, second)) = f.merge {
            create(
                self,
                "nested,repeated-key-merges",
                vec![nested(&[member(go, first), member(go, second)])],
            );
        }

        // null.
        if f.core {
            create(self, "nested,null", vec![nested(&[member(go, "null")])]);
        }
        create(
            self,
            "nested,dangerous-then-null",
            vec![nested(&[kv.clone(), member(go, "null")])],
        );

        // API versions.
        if f.core {
            for &version in self.versions {
                if version != BASE_API {
                    self.push(
                        go,
                        format!("{go}/nested,api={}", shown(version)),
                        version,
                        body(&[nested(std::slice::from_ref(&kv))]),
                    );
                }
            }
        }
        if go == "Privileged" || go == "Binds" {
            for &version in self.versions {
                if version != BASE_API {
                    self.push(
                        go,
                        format!("{go}/top-level,api={}", shown(version)),
                        version,
                        body(std::slice::from_ref(&kv)),
                    );
                }
            }
        }

        // The other samples.
        for (i, sample) in f.samples.iter().enumerate().skip(1) {
            let kv = member(go, sample);
            create(
                self,
                &format!("nested,sample-{}", i + 1),
                vec![nested(std::slice::from_ref(&kv))],
            );
            if f.core {
                create(self, &format!("top-level,sample-{}", i + 1), vec![kv]);
            }
        }
    }

    /// The wrapper's own key spelled differently.
    fn host_config_key(&mut self) {
        for f in FIELDS
            .iter()
            .filter(|f| matches!(f.go, "Privileged" | "Binds" | "CapAdd"))
        {
            for (how, key) in spellings("HostConfig") {
                let members = format!("\"{key}\":{{{}}}", member(f.go, f.samples[0]));
                self.push(
                    f.go,
                    format!("{}/HostConfig-key-{how}", f.go),
                    BASE_API,
                    body(&[members]),
                );
            }
        }
    }

    /// Plain bodies at every version: the daemon's defaults.
    fn plain(&mut self) {
        for &version in self.versions {
            self.push(
                "-",
                format!("plain/no-HostConfig,api={}", shown(version)),
                version,
                body(&[]),
            );
            self.push(
                "-",
                format!("plain/HostConfig:{{}},api={}", shown(version)),
                version,
                body(&["\"HostConfig\":{}".into()]),
            );
        }
    }

    /// Pre-1.24 start bodies: Docker decodes them with the create wrapper
    /// and replaces the container's `HostConfig` with the result.
    fn start(&mut self) {
        // Without networking, where the case does not test networking.
        let net = member("NetworkMode", r#""none""#);
        let start =
            |this: &mut Self, field: &'static str, name: String, api, body: String, framing| {
                this.push_call(field, name, api, body, Endpoint::Start, framing);
            };
        for f in FIELDS {
            let Some(value) = f.start else { continue };
            let mut members = vec![member(f.go, value)];
            if f.go != "NetworkMode" {
                members.push(net.clone());
            }
            let inner = members.join(",");
            start(
                self,
                f.go,
                format!("{}/start,nested", f.go),
                "1.23",
                format!("{{{}}}", nested(&members)),
                Framing::Length,
            );
            start(
                self,
                f.go,
                format!("{}/start,top-level", f.go),
                "1.23",
                format!("{{{inner}}}"),
                Framing::Length,
            );
            if f.core {
                start(
                    self,
                    f.go,
                    format!("{}/start,top-level,lower-case-key", f.go),
                    "1.12",
                    format!(
                        "{{{}}}",
                        members
                            .iter()
                            .map(|m| m.replacen(f.go, &f.go.to_lowercase(), 1))
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                    Framing::Length,
                );
            }
        }
        let privileged = member("Privileged", "true");
        let specials: [(&str, &'static str, String, Framing); 9] = [
            (
                "start,chunked,nested",
                "1.23",
                format!("{{{}}}", nested(&[privileged.clone(), net.clone()])),
                Framing::Chunked,
            ),
            (
                "start,top-level+nested{}",
                "1.23",
                format!("{{{privileged},\"HostConfig\":{{}}}}"),
                Framing::Length,
            ),
            (
                "start,top-level+HostConfig:null",
                "1.23",
                format!("{{{privileged},{net},\"HostConfig\":null}}"),
                Framing::Length,
            ),
            (
                "start,nested,then-HostConfig:null",
                "1.23",
                format!(
                    "{{{},\"HostConfig\":null}}",
                    nested(std::slice::from_ref(&privileged))
                ),
                Framing::Length,
            ),
            (
                "start,no-HostConfig-fields",
                "1.23",
                format!("{{{}}}", base()),
                Framing::Length,
            ),
            (
                "start,empty-object-padded-past-7-bytes",
                "1.23",
                "{}      ".into(),
                Framing::Length,
            ),
            (
                "start,HostConfig:null",
                "1.23",
                "{\"HostConfig\":null}".into(),
                Framing::Length,
            ),
            (
                "start,body-at-api=1.24",
                "1.24",
                format!("{{{}}}", nested(&[privileged.clone(), net.clone()])),
                Framing::Length,
            ),
            (
                "start,body-without-version",
                "",
                format!("{{{}}}", nested(&[privileged.clone(), net.clone()])),
                Framing::Length,
            ),
        ];
        for (what, api, body, framing) in specials {
            start(
                self,
                "Privileged",
                format!("Privileged/{what}"),
                api,
                body,
                framing,
            );
        }
    }
}

/// `local` volume options (`DriverOpts`): the key, then the members of the
/// options object. `/tmp` is the bind device (it exists on every host).
/// debugfs ignores data words it does not know, so it mounts whatever `o`
/// holds: what a bind flag that is not exactly `bind` really mounts.
pub const VOLUME_OPTIONS: &[(&str, &str)] = &[
    ("bind", r#""type":"none","o":"bind","device":"/tmp""#),
    (
        "rbind,ro",
        r#""type":"none","o":"rbind,ro","device":"/tmp""#,
    ),
    (
        "bind,trailing-comma",
        r#""type":"none","o":"bind,","device":"/tmp""#,
    ),
    (
        "bind-flag-with-type-tmpfs",
        r#""type":"tmpfs","o":"nosuid,bind","device":"/tmp""#,
    ),
    (
        "space-then-bind,debugfs",
        r#""type":"debugfs","o":" bind","device":"/tmp""#,
    ),
    (
        "bind-then-space,debugfs",
        r#""type":"debugfs","o":"bind ","device":"/tmp""#,
    ),
    (
        "Bind,debugfs",
        r#""type":"debugfs","o":"Bind","device":"/tmp""#,
    ),
    (
        "flag,space-bind,debugfs",
        r#""type":"debugfs","o":"nosuid, bind","device":"/tmp""#,
    ),
    (
        "tab-rbind,debugfs",
        r#""type":"debugfs","o":"\trbind","device":"/tmp""#,
    ),
    (
        "space-then-bind,tmpfs",
        r#""type":"tmpfs","o":" bind","device":"/tmp""#,
    ),
    (
        "space-then-bind,proc",
        r#""type":"proc","o":" bind","device":"/tmp""#,
    ),
    (
        "tmpfs,size,uid",
        r#""type":"tmpfs","o":"size=1m,uid=1000","device":"tmpfs""#,
    ),
    ("tmpfs,no-o", r#""type":"tmpfs","device":"tmpfs""#),
    (
        "tmpfs,defaults",
        r#""type":"tmpfs","o":"defaults","device":"tmpfs""#,
    ),
    (
        "tmpfs,remount",
        r#""type":"tmpfs","o":"remount","device":"tmpfs""#,
    ),
    ("proc", r#""type":"proc","device":"proc""#),
    ("debugfs", r#""type":"debugfs","device":"debugfs""#),
    ("type-with-space", r#""type":" tmpfs","device":"tmpfs""#),
    (
        "key-with-space",
        r#"" o":"bind","type":"none","device":"/tmp""#,
    ),
    (
        "key-upper-case",
        r#""O":"bind","type":"none","device":"/tmp""#,
    ),
    ("key-Type", r#""Type":"tmpfs","device":"tmpfs""#),
    ("o-without-device", r#""o":"bind","type":"none""#),
    (
        "device-none,bind",
        r#""type":"none","o":"bind","device":"none""#,
    ),
    (
        "device-none,data",
        r#""type":"tmpfs","o":"size=1m","device":"none""#,
    ),
    ("empty-device", r#""type":"tmpfs","device":"""#),
    ("size-0", r#""size":"0""#),
    ("none", ""),
    (
        "o-repeated,bind-last",
        r#""type":"none","o":" bind","o":"bind","device":"/tmp""#,
    ),
    (
        "o-repeated,bind-first",
        r#""type":"debugfs","o":"bind","o":" bind","device":"/tmp""#,
    ),
];

/// Containers started with option strings the daemon reads: the field,
/// what the case tries, the `HostConfig` members. The image's command is
/// `sleep`, so the process can be looked at.
pub const RUN_OPTIONS: &[(&str, &str, &str)] = &[
    (
        "SecurityOpt",
        "no-new-privileges",
        r#""SecurityOpt":["no-new-privileges"]"#,
    ),
    (
        "SecurityOpt",
        "no-new-privileges=false",
        r#""SecurityOpt":["no-new-privileges=false"]"#,
    ),
    (
        "SecurityOpt",
        "no-new-privileges:true",
        r#""SecurityOpt":["no-new-privileges:true"]"#,
    ),
    (
        "SecurityOpt",
        "no-new-privileges=yes",
        r#""SecurityOpt":["no-new-privileges=yes"]"#,
    ),
    (
        "SecurityOpt",
        "no-new-privileges,then-false",
        r#""SecurityOpt":["no-new-privileges","no-new-privileges=0"]"#,
    ),
    (
        "SecurityOpt",
        "seccomp=unconfined",
        r#""SecurityOpt":["seccomp=unconfined"]"#,
    ),
    (
        "SecurityOpt",
        "seccomp:unconfined",
        r#""SecurityOpt":["seccomp:unconfined"]"#,
    ),
    (
        "SecurityOpt",
        "space,seccomp=unconfined",
        r#""SecurityOpt":[" seccomp=unconfined"]"#,
    ),
    (
        "SecurityOpt",
        "seccomp-space=unconfined",
        r#""SecurityOpt":["seccomp =unconfined"]"#,
    ),
    (
        "SecurityOpt",
        "Seccomp=unconfined",
        r#""SecurityOpt":["Seccomp=unconfined"]"#,
    ),
    (
        "SecurityOpt",
        "seccomp=builtin",
        r#""SecurityOpt":["seccomp=builtin"]"#,
    ),
    ("SecurityOpt", "seccomp=", r#""SecurityOpt":["seccomp="]"#),
    (
        "SecurityOpt",
        "apparmor=unconfined",
        r#""SecurityOpt":["apparmor=unconfined"]"#,
    ),
    (
        "SecurityOpt",
        "apparmor:x=y",
        r#""SecurityOpt":["apparmor:x=y"]"#,
    ),
    (
        "SecurityOpt",
        "label=disable",
        r#""SecurityOpt":["label=disable"]"#,
    ),
    ("SecurityOpt", "disable", r#""SecurityOpt":["disable"]"#),
    (
        "SecurityOpt",
        "disable-space",
        r#""SecurityOpt":["disable "]"#,
    ),
    (
        "SecurityOpt",
        "writable-cgroups",
        r#""SecurityOpt":["writable-cgroups"]"#,
    ),
    (
        "SecurityOpt",
        "writable-cgroups=false",
        r#""SecurityOpt":["writable-cgroups=false"]"#,
    ),
    (
        "SecurityOpt",
        "systempaths=unconfined",
        r#""SecurityOpt":["systempaths=unconfined"]"#,
    ),
    ("Tmpfs", "rw,exec,suid", r#""Tmpfs":{"/x":"rw,exec,suid"}"#),
    (
        "Tmpfs",
        "ro,dev",
        r#""Tmpfs":{"/x":"ro,dev,size=1m,mode=1777,uid=5"}"#,
    ),
    (
        "Tmpfs",
        "exec,then-noexec",
        r#""Tmpfs":{"/x":"exec,noexec"}"#,
    ),
    ("Tmpfs", "space-exec", r#""Tmpfs":{"/x":"size=1m, exec"}"#),
    ("Tmpfs", "EXEC", r#""Tmpfs":{"/x":"EXEC"}"#),
    ("Tmpfs", "empty-key", r#""Tmpfs":{"/x":"=x"}"#),
    ("Tmpfs", "defaults", r#""Tmpfs":{"/x":"defaults"}"#),
    ("Tmpfs", "empty", r#""Tmpfs":{"/x":""}"#),
    ("Tmpfs", "rbind", r#""Tmpfs":{"/x":"rbind"}"#),
    ("Tmpfs", "empty-entry", r#""Tmpfs":{"/x":"exec,,suid"}"#),
    (
        "Mounts",
        "tmpfs-Options-exec",
        r#""Mounts":[{"Type":"tmpfs","Target":"/x","TmpfsOptions":{"Options":[["exec"]]}}]"#,
    ),
    (
        "Mounts",
        "tmpfs-Options-suid",
        r#""Mounts":[{"Type":"tmpfs","Target":"/x","TmpfsOptions":{"Options":[["suid"]]}}]"#,
    ),
    (
        "Mounts",
        "tmpfs-ReadOnly,size",
        r#""Mounts":[{"Type":"tmpfs","Target":"/x","ReadOnly":true,"TmpfsOptions":{"SizeBytes":1048576,"Mode":448}}]"#,
    ),
    (
        "Mounts",
        "image",
        r#""Mounts":[{"Type":"image","Source":"{{image}}","Target":"/x"}]"#,
    ),
    (
        "Mounts",
        "image,Subpath",
        r#""Mounts":[{"Type":"image","Source":"{{image}}","Target":"/x","ImageOptions":{"Subpath":"bin"}}]"#,
    ),
    (
        "Mounts",
        "image,Subpath-escapes",
        r#""Mounts":[{"Type":"image","Source":"{{image}}","Target":"/x","ImageOptions":{"Subpath":"../x"}}]"#,
    ),
];

impl Builder {
    /// `POST /volumes/create` with each of [`VOLUME_OPTIONS`] (the key
    /// spelled `driveropts` once), at the daemon's own API version.
    fn volumes(&mut self) {
        for (what, options) in VOLUME_OPTIONS {
            let body = format!(r#"{{"Name":"diffopt-{{{{n}}}}","DriverOpts":{{{options}}}}}"#);
            self.push_call(
                "DriverOpts",
                format!("DriverOpts/{what}"),
                "",
                body,
                Endpoint::Volume,
                Framing::Length,
            );
        }
        self.push_call(
            "DriverOpts",
            "DriverOpts/lower-case-key,local-driver".into(),
            "",
            r#"{"Name":"diffopt-{{n}}","Driver":"local","driveropts":{"type":"debugfs","o":" bind","device":"/tmp"}}"#.into(),
            Endpoint::Volume,
            Framing::Length,
        );
    }

    /// Containers with each of [`RUN_OPTIONS`], created and started at the
    /// daemon's own API version.
    fn runs(&mut self) {
        for (field, what, members) in RUN_OPTIONS {
            let body = format!(
                r#"{{"Image":"{IMAGE}","Cmd":["sleep","60"],"HostConfig":{{"NetworkMode":"none",{}}}}}"#,
                members.replace("{{image}}", IMAGE)
            );
            self.push_call(
                field,
                format!("{field}/run,{what}"),
                "",
                body,
                Endpoint::Run,
                Framing::Length,
            );
        }
    }
}

/// A version for case names.
fn shown(version: &str) -> String {
    if version.is_empty() {
        "none".into()
    } else {
        version.into()
    }
}

/// Every case sent to `version`.
pub fn corpus(version: Version) -> Vec<Case> {
    let mut builder = Builder {
        cases: Vec::new(),
        versions: version.api_versions(),
    };
    builder.plain();
    for field in FIELDS {
        builder.field(field);
    }
    builder.host_config_key();
    builder.start();
    builder.volumes();
    builder.runs();
    builder.cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_mutation_reaches_the_core_fields() {
        let cases = corpus(Version::V26_1);
        for field in [
            "Privileged",
            "Binds",
            "CapAdd",
            "NetworkMode",
            "PidMode",
            "SecurityOpt",
            "MaskedPaths",
            "Mounts",
        ] {
            for what in [
                "/nested",
                "/top-level",
                "top-level+HostConfig:null",
                "top-level+nested{}",
                "nested,then-HostConfig:{}",
                "nested,then-HostConfig:null",
                "HostConfig:null,then-nested",
                "lower-case-key",
                "upper-case-key",
                "\\u-escaped-key",
                "dangerous-then-benign",
                "benign-then-dangerous",
                "nested,null",
                "api=none",
                "api=1.12",
                "api=1.23",
                "api=1.24",
                "api=1.40",
                "api=1.44",
                "api=1.45",
            ] {
                assert!(
                    cases
                        .iter()
                        .any(|c| c.field == field && c.name.contains(what)),
                    "{field} lacks {what}"
                );
            }
        }
        assert!(cases.iter().any(|c| c.name.contains("Kelvin-sign")));
        assert!(cases.iter().any(|c| c.name.contains("long-s")));
        assert!(
            (250..=600).contains(&cases.len()),
            "{} cases: keep it to a few hundred",
            cases.len()
        );
    }

    #[test]
    fn every_body_is_json() {
        for case in corpus(Version::V26_1) {
            let body = case.body_for("0123abcd");
            let text = body.replace(['\u{212A}', '\u{017F}'], "x");
            assert!(
                serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                "{}: {body}",
                case.name
            );
        }
    }

    #[test]
    fn spellings_fold_to_the_field_in_go() {
        let names: Vec<_> = spellings("MaskedPaths").into_iter().map(|s| s.1).collect();
        assert!(names.contains(&"Ma\u{017F}kedPaths".to_owned()));
        assert!(names.contains(&"Mas\u{212A}edPaths".to_owned()));
        assert!(names.contains(&"\\u004daskedPaths".to_owned()));
    }
}
