//! Building blocks of container launch contexts: local resources from local files, environment
//! entries, and quoting of command arguments that survive the NM's `bash -c "..."` wrapper.

use std::path::Path;
use std::time::UNIX_EPOCH;

use spindle_proto::yarn::{
    LocalResourceProto, LocalResourceTypeProto, LocalResourceVisibilityProto,
    StringLocalResourceMapProto, StringStringMapProto, UrlProto,
};

/// Replaced by the NM with the container's log directory (`ApplicationConstants.LOG_DIR_EXPANSION_VAR`).
pub const LOG_DIR_EXPANSION: &str = "<LOG_DIR>";

/// A local resource for the local file `path` (`file://` URL, size, modification time in ms as
/// the NM checks it).
pub fn local_file_resource(
    path: &Path,
    resource_type: LocalResourceTypeProto,
    visibility: LocalResourceVisibilityProto,
) -> std::io::Result<LocalResourceProto> {
    let absolute = std::path::absolute(path)?;
    let metadata = std::fs::metadata(&absolute)?;
    let modified_ms = metadata
        .modified()?
        .duration_since(UNIX_EPOCH)
        .map(|duration| duration.as_millis() as i64)
        .unwrap_or(0);
    Ok(LocalResourceProto {
        resource: Some(UrlProto {
            scheme: Some("file".into()),
            host: None,
            port: Some(-1),
            file: Some(absolute.to_string_lossy().into_owned()),
            user_info: None,
        }),
        size: Some(metadata.len() as i64),
        timestamp: Some(modified_ms),
        r#type: Some(resource_type as i32),
        visibility: Some(visibility as i32),
        pattern: None,
        should_be_uploaded_to_shared_cache: None,
    })
}

/// One `link name -> resource` entry of `ContainerLaunchContextProto.local_resources`.
pub fn local_resource_entry(
    link_name: &str,
    resource: LocalResourceProto,
) -> StringLocalResourceMapProto {
    StringLocalResourceMapProto {
        key: Some(link_name.to_string()),
        value: Some(resource),
    }
}

/// One entry of `ContainerLaunchContextProto.environment`.
pub fn environment_entry(key: &str, value: &str) -> StringStringMapProto {
    StringStringMapProto {
        key: Some(key.to_string()),
        value: Some(value.to_string()),
    }
}

/// Quotes `argument` as one shell word that survives the NM's `exec /bin/bash -c "<command>"`:
/// single quotes for the inner shell, with `\`, `$`, `` ` `` and `"` escaped for the outer
/// double quotes (Spark's `escapeForShell`, plus backslash and backquote).
pub fn escape_for_shell(argument: &str) -> String {
    let mut escaped = String::with_capacity(argument.len() + 2);
    escaped.push('\'');
    for character in argument.chars() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            '$' => escaped.push_str("\\$"),
            '`' => escaped.push_str("\\`"),
            '"' => escaped.push_str("\\\""),
            '\'' => escaped.push_str("'\\''"),
            other => escaped.push(other),
        }
    }
    escaped.push('\'');
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// What a program receives when `word` goes through `bash -c "<word>"` as the NM runs it.
    fn through_the_nm_wrapper(word: &str) -> String {
        let script = format!("printf '%s' {word}");
        let output = Command::new("/bin/bash")
            .arg("-c")
            .arg(format!("/bin/bash -c \"{script}\""))
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn quoted_arguments_arrive_unchanged() {
        for argument in [
            "plain",
            "two words",
            "it's",
            "$HOME and ${PATH}",
            "`date` $(date)",
            "say \"hi\"",
            "back\\slash \\$ \\n",
            "semi; colon | pipe > file & amp",
            "",
        ] {
            assert_eq!(
                through_the_nm_wrapper(&escape_for_shell(argument)),
                argument
            );
        }
    }

    #[test]
    fn local_file_resources_carry_size_and_millisecond_mtime() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("payload");
        std::fs::write(&path, b"12345").unwrap();
        let resource = local_file_resource(
            &path,
            LocalResourceTypeProto::File,
            LocalResourceVisibilityProto::Application,
        )
        .unwrap();
        let url = resource.resource.as_ref().unwrap();
        assert_eq!(url.scheme(), "file");
        assert_eq!(url.port, Some(-1));
        assert_eq!(url.file(), path.to_str().unwrap());
        assert_eq!(resource.size(), 5);
        let expected_ms = std::fs::metadata(&path)
            .unwrap()
            .modified()
            .unwrap()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert_eq!(resource.timestamp(), expected_ms);
        assert!(local_file_resource(
            &directory.path().join("absent"),
            LocalResourceTypeProto::File,
            LocalResourceVisibilityProto::Application
        )
        .is_err());
    }
}
