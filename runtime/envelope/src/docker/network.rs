//! `POST /networks/create` (Docker's `NetworkCreateRequest`) and
//! `POST /networks/{id}/connect` and `/disconnect` (`NetworkConnect`).

use std::collections::BTreeMap;

use crate::go_struct;

go_struct! {
    /// The body of `POST /networks/create`.
    pub struct NetworkCreate {
        /// Network name.
        "Name" => pub name: String,
        /// Driver (`bridge`, `overlay`, `macvlan`, `ipvlan`, …).
        "Driver" => pub driver: String,
        /// No external connectivity.
        "Internal" => pub internal: bool,
        /// Standalone containers may attach (overlay).
        "Attachable" => pub attachable: bool,
        /// Driver options (`parent` for macvlan/ipvlan names a host interface).
        "Options" => pub options: BTreeMap<String, String>,
        /// Labels.
        "Labels" => pub labels: BTreeMap<String, String>,
    }
}

go_struct! {
    /// The body of `POST /networks/{id}/connect` and `/disconnect`: the
    /// container is named in the body, not the path.
    pub struct NetworkConnect {
        /// The container (ID, name or ID prefix).
        "Container" => pub container: String,
        /// Disconnect even if the container is running (disconnect only).
        "Force" => pub force: bool,
    }
}
