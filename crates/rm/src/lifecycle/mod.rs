//! Lifecycles of the RM's objects as explicit transition tables: state x event -> next state.
//!
//! Each table is one function; an event that is not legal in a state is an `InvalidTransition`
//! (the caller logs it and keeps the old state), and a table test covers every pair.

pub mod app;
pub mod attempt;
pub mod container;
pub mod node;

/// An event arrived in a state where the lifecycle does not accept it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object}: event {event} is not valid in state {state}")]
pub struct InvalidTransition {
    pub object: &'static str,
    pub state: &'static str,
    pub event: &'static str,
}
