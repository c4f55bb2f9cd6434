//! The Spindle NodeManager
