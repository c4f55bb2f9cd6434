//! Hadoop IPC v9 client and server on tokio
