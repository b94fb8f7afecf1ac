//! Every state key the `workflows` registry writes. Keys a client proves
//! against are defined in `synod_protocol::state_key` and delegated to here.

/// A workflow record by name ([`synod_protocol::governance::WorkflowRecord`]).
pub fn workflow(name: &str) -> Vec<u8> {
    synod_protocol::state_key::workflows::workflow(name)
}

/// Prefix of every workflow record.
pub fn workflows_prefix() -> Vec<u8> {
    b"workflows/workflow/".to_vec()
}
