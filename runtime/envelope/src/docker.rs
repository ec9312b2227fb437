//! Typed views of the Docker request bodies policies look at.
//!
//! Each view reads only the fields declared here (the rest of the body is
//! skipped, not built), and decodes them exactly as the daemon does (see
//! [`gojson`]). Guests reach them through `portcullis_sdk::Request`, whose
//! accessors refuse a missing body instead of pretending it was empty; the
//! host uses the same types to resolve mounts, so both sides agree.

pub mod build;
pub mod container;
pub mod exec;
#[doc(hidden)]
pub mod gojson;
pub mod image;
pub mod mount_options;
pub mod network;
pub mod plugin;
pub mod security_opt;
pub mod service;
pub mod update;
pub mod volume;

pub use build::ImageBuild;
pub use container::{
    BindOptions, ClusterOptions, ContainerConfig, ContainerCreate, ContainerStart, DeviceMapping,
    DeviceRequest, HostConfig, ImageOptions, LogConfig, Mount, NetworkingConfig, PortBinding,
    TmpfsOptions, VolumeDriver, VolumeOptions,
};
pub use exec::ExecCreate;
pub use gojson::StrSlice;
pub use image::{ImageCreate, ImageReference};
pub use mount_options::MountOptions;
pub use network::{NetworkConnect, NetworkCreate};
pub use plugin::{PluginPrivilege, PluginPrivileges};
pub use security_opt::SecurityOpt;
pub use service::{
    AppArmorOpts, ContainerSpec, EndpointSpec, LogDriver, NetworkAttachment, PluginSpec,
    PortConfig, Privileges, SeccompOpts, SelinuxContext, ServiceCreate, TaskTemplate,
};
pub use update::{ContainerUpdate, RestartPolicy};
pub use volume::{
    LocalMount, LocalOptionsError, VolumeCreate, is_local_driver, local_bind_device, local_mount,
};
