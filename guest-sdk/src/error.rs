//! One error type for policies that read bodies and keep state, so both
//! work with `?` in the same function.

use std::fmt;

use crate::BodyError;
use crate::state::StateError;

/// What a policy could not do. Returned from a policy, it denies the call
/// with its message (see [`IntoDecision`](crate::IntoDecision)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A body the policy needed could not be read.
    Body(BodyError),
    /// The module's state could not be read or written.
    State(StateError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Body(err) => err.fmt(f),
            Error::State(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Body(err) => Some(err),
            Error::State(err) => Some(err),
        }
    }
}

impl From<BodyError> for Error {
    fn from(err: BodyError) -> Self {
        Error::Body(err)
    }
}

impl From<StateError> for Error {
    fn from(err: StateError) -> Self {
        Error::State(err)
    }
}
