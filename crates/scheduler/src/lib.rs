//! Spindle's pure, deterministic scheduling core
