//! Fuzzes the Hadoop credentials reader: the bytes of `ContainerLaunchContext.tokens` come from
//! any client that submits an application or starts a container.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(credentials) = spindle_security::Credentials::decode(data) {
        // Whatever decodes must encode and decode to the same thing.
        let again = spindle_security::Credentials::decode(&credentials.encode()).expect("re-decodes");
        assert_eq!(again, credentials);
    }
});
