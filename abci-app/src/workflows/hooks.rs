//! The workflows component. The registry changes only by governance
//! ([`super::register`]); it has no genesis records, block hooks or
//! transactions of its own yet (runs come with the workflow-runs issue).

use crate::component::Component;

/// The workflows component.
pub struct Workflows;

impl Component for Workflows {
    fn name(&self) -> &'static str {
        "workflows"
    }
}
