//! What the ResourceManager's and NodeManagers' web services share: YARN's JSON conventions
//! (`json`), its error bodies and status codes (`error`), Hadoop's pseudo authentication with the
//! `hadoop.auth` cookie (`auth`), HTML escaping for server-rendered pages (`html`), and an HTTP
//! server with bounded concurrency that stops cleanly (`server`). Routes and their data live with
//! each daemon (`spindle-rm`'s and `spindle-nm`'s `web` modules); this crate knows no YARN record.

pub mod auth;
pub mod error;
pub mod html;
pub mod json;
pub mod prom;
pub mod server;

pub use auth::{Caller, WebAuth, WebAuthError};
pub use error::WebError;
pub use server::WebServer;
