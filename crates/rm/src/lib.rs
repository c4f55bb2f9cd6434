//! The Spindle ResourceManager
