# The Rego counterpart of benches/chains/three.toml (no-privileged, rbac,
# hardening) for the in-process benchmark (benches/inprocess.rs). regorus
# evaluates `data.docker.authz.allow` on the input document that
# opa-docker-authz builds from Docker's AuthZReq (benches/src/rego.rs:
# Headers, Path, PathPlain, PathArr, Query, Method, Body, User, AuthMethod,
# BindMounts).
#
# The base is the final policy of OPA's Docker tutorial, as in
# open-policy-agent/opa-docker-authz's example.rego: users with a readOnly
# flag, read-only users may only GET, no seccomp=unconfined. One change: the
# identity is the TLS user Docker reports (`input.User`), as in Portcullis,
# not the `Authz-User` header, which any client can set.
#
# Mirrored, with three.toml's config:
#   no-privileged  privileged containers (create) and privileged execs.
#   rbac           only as the tutorial's read/write split: alice may write,
#                  bob may only GET, anyone else is refused.
#   hardening      privileged containers and execs; CapAdd outside
#                  NET_BIND_SERVICE (any case, `CAP_` optional); Devices and
#                  DeviceCgroupRules; the host network, PID, IPC, UTS, user
#                  and cgroup namespaces; seccomp, apparmor and systempaths
#                  unconfined, label disable (`=` and `:` spellings); bind
#                  mounts (Binds and Mounts) whose source or resolved path is
#                  not under /srv/data (whole components), or that could not
#                  be resolved; VolumesFrom; mounts of unknown types; images
#                  from registries other than docker.io on create and on pulls
#                  (images/create), image IDs exempt; host ports below 1024 or
#                  that are not numbers; creates and execs without a readable
#                  body; plugin install, create, upgrade, enable and set.
#
# Not mirrored:
#   - rbac's action scopes (developers: container, image, network, volume;
#     everyone: ping and version; auditors: everything read-only) need
#     Docker's route table, which this policy does not have.
#   - Path normalisation: routes are matched on PathPlain as opa-docker-authz
#     gives it (percent-decoded, not cleaned), so `//containers/create` and
#     `/x/../containers/create` slip past every create rule; the guests match
#     the cleaned path Docker's router uses.
#   - Field names: the daemon's decoder matches JSON keys case-insensitively
#     (`"privileged": true` is honoured); these rules match Docker's spelling
#     only. The guests decode as the daemon does.
#   - hardening on other routes: container start with a pre-1.24 host config,
#     container update's devices, volume create with o=bind, service create
#     and update.

package docker.authz

import rego.v1

default allow := false

allow if {
	valid_user_role
	count(deny) == 0
}

# --- The tutorial's users -----------------------------------------------

user := users[input.User]

# A write request by a user allowed to write.
valid_user_role if {
	input.Method != "GET"
	user.readOnly == false
}

# A read request by any known user.
valid_user_role if {
	input.Method == "GET"
	user
}

users := {
	"alice": {"readOnly": false},
	"bob": {"readOnly": true},
}

# --- Routes: the path without its optional /vX.Y prefix -------------------

route := regex.replace(input.PathPlain, `^/v[0-9.]+(/|$)`, "/")

container_create if {
	input.Method == "POST"
	route == "/containers/create"
}

exec_create if {
	input.Method == "POST"
	regex.match(`^/containers/[^/]+/exec$`, route)
}

host_config := input.Body.HostConfig if container_create

# Docker sends null for an empty list. regorus, unlike OPA, fails the whole
# evaluation on `some x in null` (and `count(null)`), so lists that may be
# null are iterated by reference (`list[_]`), which is merely undefined.

# --- hardening's settings from three.toml ---------------------------------

allowed_capabilities := {"NET_BIND_SERVICE"}

bind_prefixes := ["/srv/data"]

allowed_registries := {"docker.io"}

min_host_port := 1024

# --- Denials: every violation found, as hardening reports them -----------

deny contains sprintf("%s without a readable body", [route]) if {
	body_required
	not is_object(input.Body)
}

body_required if container_create

body_required if exec_create

deny contains "privileged containers are not allowed" if {
	host_config.Privileged == true
}

deny contains "privileged exec is not allowed" if {
	exec_create
	input.Body.Privileged == true
}

deny contains sprintf("capability %s is not allowed", [capability]) if {
	capability := host_config.CapAdd[_]
	not allowed_capabilities[trim_prefix(upper(trim_space(capability)), "CAP_")]
}

deny contains "devices are not allowed" if {
	some field in ["Devices", "DeviceCgroupRules"]
	host_config[field][_]
}

host_namespaces := {
	"NetworkMode": "network",
	"PidMode": "PID",
	"IpcMode": "IPC",
	"UTSMode": "UTS",
	"UsernsMode": "user",
	"CgroupnsMode": "cgroup",
}

deny contains sprintf("the host %s namespace is not allowed", [namespace]) if {
	some field, namespace in host_namespaces
	lower(host_config[field]) == "host"
}

# The tutorial's seccomp rule, with the other ways to switch confinement off.
unconfined_options := {
	"seccomp=unconfined", "seccomp:unconfined",
	"apparmor=unconfined", "apparmor:unconfined",
	"systempaths=unconfined", "systempaths:unconfined",
	"label=disable", "label:disable",
}

deny contains sprintf("security option %s is not allowed", [option]) if {
	option := host_config.SecurityOpt[_]
	unconfined_options[option]
}

deny contains sprintf("bind mount of %s cannot be checked: unresolved", [mount.Source]) if {
	container_create
	some mount in input.BindMounts
	mount.Resolved == ""
}

deny contains sprintf("bind mount of %s is outside the allowed host paths", [mount.Source]) if {
	container_create
	some mount in input.BindMounts
	some path in [mount.Source, mount.Resolved]
	not under_bind_prefix(path)
}

under_bind_prefix(path) if {
	some prefix in bind_prefixes
	path == prefix
}

under_bind_prefix(path) if {
	some prefix in bind_prefixes
	startswith(path, concat("", [prefix, "/"]))
}

deny contains sprintf("--volumes-from %s is not allowed", [source]) if {
	source := host_config.VolumesFrom[_]
}

known_mount_types := {"bind", "volume", "tmpfs", "image", "cluster"}

deny contains sprintf("mount of type %v is not allowed", [mount.Type]) if {
	mount := host_config.Mounts[_]
	not known_mount_types[mount.Type]
}

deny contains sprintf("images from %s (%s) are not allowed", [registry, image]) if {
	some image in judged_images
	not image_id(image)
	registry := image_registry(image)
	not allowed_registries[registry]
}

judged_images contains input.Body.Image if {
	container_create
	input.Body.Image != ""
}

judged_images contains input.Query.fromImage[0] if {
	input.Method == "POST"
	route == "/images/create"
}

# An image ID names an image already on the host; its pull was judged then.
image_id(image) if regex.match(`^(sha256:)?[0-9a-fA-F]{12,64}$`, image)

# Docker's rule: the first component names a registry only if it contains
# `.` or `:`, is `localhost`, or has an upper-case letter; else Docker Hub.
image_registry(image) := registry_name(components[0]) if {
	components := split(split(image, "@")[0], "/")
	count(components) > 1
	registry_host(components[0])
} else := "docker.io"

registry_host(host) if contains(host, ".")

registry_host(host) if contains(host, ":")

registry_host(host) if host == "localhost"

registry_host(host) if regex.match(`[A-Z]`, host)

registry_name(host) := "docker.io" if {
	host == "index.docker.io"
} else := lower(host)

deny contains sprintf("publishing %s on host port %v (below %v) is not allowed", [port, number, min_host_port]) if {
	some [port, host_port] in published_ports
	regex.match(`^[0-9]+$`, host_port)
	number := to_number(host_port)
	number > 0
	number < min_host_port
}

deny contains sprintf("host port %v of %s is not a port", [host_port, port]) if {
	some [port, host_port] in published_ports
	host_port != ""
	not regex.match(`^[0-9]+$`, host_port)
}

# [container port, first host port of its range] for every binding.
published_ports contains [port, trim_space(split(binding.HostPort, "-")[0])] if {
	binding := host_config.PortBindings[port][_]
}

deny contains "managing plugins is not allowed" if {
	input.Method == "POST"
	regex.match(`^/plugins/(pull|create|.+/(upgrade|enable|set))$`, route)
}
