//! Async client SDK for Spindle and YARN (YarnClient, AMRMClient, NMClient equivalents)
