//! Writing archive entries strictly inside a target directory (the CVE-2018-8009 guard).
//!
//! Every entry name is checked (no absolute paths, no `..`), every parent directory is walked
//! physically so that nothing is written through a link that leaves the target, files are created
//! with `O_EXCL` after removing what was there (so a planted link is never followed), and every
//! symbolic or hard link must resolve inside the target — once when it is created and once more
//! over the whole tree when unpacking ends, since later entries can change what a link resolves to.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use super::error::UnpackError;

/// Symbolic links followed while resolving one link before giving up (Linux's MAXSYMLINKS).
const MAX_LINK_HOPS: usize = 40;

/// The checked relative path of an archive entry; `Ok(None)` for names that denote the target
/// directory itself (`./`, `/`-only components).
pub(crate) fn sanitize_entry_name(raw: &[u8]) -> Result<Option<PathBuf>, UnpackError> {
    let entry = String::from_utf8_lossy(raw).into_owned();
    if raw.is_empty() || raw.contains(&0) {
        return Err(UnpackError::InvalidName { entry });
    }
    if raw[0] == b'/' {
        return Err(UnpackError::AbsolutePath { entry });
    }
    let mut path = PathBuf::new();
    for component in raw.split(|byte| *byte == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return Err(UnpackError::ParentTraversal { entry }),
            name => path.push(OsStr::from_bytes(name)),
        }
    }
    Ok(if path.as_os_str().is_empty() {
        None
    } else {
        Some(path)
    })
}

/// A directory that archive entries are unpacked into.
pub(crate) struct UnpackTarget {
    /// Canonical (symlink-free) path of the target directory.
    root: PathBuf,
}

impl UnpackTarget {
    pub(crate) fn create(root: &Path) -> io::Result<Self> {
        fs::create_dir_all(root)?;
        Ok(Self {
            root: fs::canonicalize(root)?,
        })
    }

    /// Creates the directory `relative` (and its parents) inside the target.
    pub(crate) fn create_directory(&self, relative: &Path, entry: &str) -> Result<(), UnpackError> {
        self.physical_directory(relative.components(), entry)
            .map(|_| ())
    }

    /// Creates a new regular file for an entry, replacing a file or link of the same name.
    pub(crate) fn create_file(&self, relative: &Path, entry: &str) -> Result<File, UnpackError> {
        let path = self.prepare_leaf(relative, entry)?;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|error| UnpackError::io(entry, error))
    }

    /// Creates a symbolic link entry after checking that its target resolves inside.
    pub(crate) fn create_symlink(
        &self,
        relative: &Path,
        target: &[u8],
        entry: &str,
    ) -> Result<(), UnpackError> {
        let target_text = String::from_utf8_lossy(target).into_owned();
        let escaping = || UnpackError::EscapingSymlink {
            entry: entry.to_string(),
            target: target_text.clone(),
        };
        if target.is_empty() || target.contains(&0) {
            return Err(UnpackError::InvalidName {
                entry: entry.to_string(),
            });
        }
        if target[0] == b'/' {
            return Err(escaping());
        }
        let path = self.prepare_leaf(relative, entry)?;
        let link_directory = path
            .parent()
            .expect("a leaf inside the target has a parent");
        if !self.link_resolves_inside(link_directory, Path::new(OsStr::from_bytes(target))) {
            return Err(escaping());
        }
        std::os::unix::fs::symlink(OsStr::from_bytes(target), &path)
            .map_err(|error| UnpackError::io(entry, error))
    }

    /// Creates a hard link entry to an earlier regular-file entry of the same archive.
    pub(crate) fn create_hard_link(
        &self,
        relative: &Path,
        target: &[u8],
        entry: &str,
    ) -> Result<(), UnpackError> {
        let escaping = || UnpackError::EscapingHardLink {
            entry: entry.to_string(),
            target: String::from_utf8_lossy(target).into_owned(),
        };
        let target_relative = match sanitize_entry_name(target) {
            Ok(Some(path)) => path,
            _ => return Err(escaping()),
        };
        let source = fs::canonicalize(self.root.join(&target_relative)).map_err(|_| escaping())?;
        let is_regular_file = fs::symlink_metadata(&source)
            .map(|m| m.file_type().is_file())
            .unwrap_or(false);
        if !source.starts_with(&self.root) || !is_regular_file {
            return Err(escaping());
        }
        let path = self.prepare_leaf(relative, entry)?;
        fs::hard_link(&source, &path).map_err(|error| UnpackError::io(entry, error))
    }

    /// Checks every symbolic link of the unpacked tree once more against the final tree.
    pub(crate) fn verify_all_links(&self) -> Result<(), UnpackError> {
        let mut pending = vec![self.root.clone()];
        while let Some(directory) = pending.pop() {
            let entries = fs::read_dir(&directory)
                .map_err(|error| UnpackError::io(directory.display().to_string(), error))?;
            for item in entries {
                let item =
                    item.map_err(|error| UnpackError::io(directory.display().to_string(), error))?;
                let path = item.path();
                let file_type = item
                    .file_type()
                    .map_err(|error| UnpackError::io(path.display().to_string(), error))?;
                if file_type.is_dir() {
                    pending.push(path);
                } else if file_type.is_symlink() {
                    let target = fs::read_link(&path)
                        .map_err(|error| UnpackError::io(path.display().to_string(), error))?;
                    if target.is_absolute() || !self.link_resolves_inside(&directory, &target) {
                        let entry = path
                            .strip_prefix(&self.root)
                            .unwrap_or(&path)
                            .display()
                            .to_string();
                        return Err(UnpackError::EscapingSymlink {
                            entry,
                            target: target.display().to_string(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The physical directory for `components`, created where missing; a component that is a
    /// link must resolve to a directory inside the target.
    fn physical_directory<'a>(
        &self,
        components: impl Iterator<Item = Component<'a>>,
        entry: &str,
    ) -> Result<PathBuf, UnpackError> {
        let mut current = self.root.clone();
        for component in components {
            current.push(component.as_os_str());
            match fs::symlink_metadata(&current) {
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&current).map_err(|error| UnpackError::io(entry, error))?;
                }
                Err(error) => return Err(UnpackError::io(entry, error)),
                Ok(metadata) if metadata.file_type().is_symlink() => {
                    let escaping = || UnpackError::EscapingParent {
                        entry: entry.to_string(),
                    };
                    let resolved = fs::canonicalize(&current).map_err(|_| escaping())?;
                    if !resolved.starts_with(&self.root) || !resolved.is_dir() {
                        return Err(escaping());
                    }
                    current = resolved;
                }
                Ok(metadata) if metadata.is_dir() => {}
                Ok(_) => {
                    return Err(UnpackError::Conflict {
                        entry: entry.to_string(),
                    })
                }
            }
        }
        Ok(current)
    }

    /// The physical path for a non-directory entry, with whatever file or link was there removed.
    fn prepare_leaf(&self, relative: &Path, entry: &str) -> Result<PathBuf, UnpackError> {
        let parent = relative.parent().map(Path::components);
        let directory = self.physical_directory(parent.into_iter().flatten(), entry)?;
        let name = relative
            .file_name()
            .ok_or_else(|| UnpackError::InvalidName {
                entry: entry.to_string(),
            })?;
        let path = directory.join(name);
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.is_dir() => Err(UnpackError::Conflict {
                entry: entry.to_string(),
            }),
            Ok(_) => fs::remove_file(&path)
                .map(|_| path)
                .map_err(|error| UnpackError::io(entry, error)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(path),
            Err(error) => Err(UnpackError::io(entry, error)),
        }
    }

    /// Whether `target`, read relative to `link_directory` (a physical directory inside the
    /// target), stays inside at every step, following the links it meets like the kernel would.
    fn link_resolves_inside(&self, link_directory: &Path, target: &Path) -> bool {
        let mut current = link_directory.to_path_buf();
        let mut pending: VecDeque<OsString> = target.iter().map(OsStr::to_os_string).collect();
        let mut hops = 0;
        while let Some(component) = pending.pop_front() {
            match component.as_bytes() {
                b"" | b"." | b"/" => continue,
                b".." => {
                    current.pop();
                }
                _ => {
                    current.push(&component);
                    let is_link = fs::symlink_metadata(&current)
                        .map(|m| m.file_type().is_symlink())
                        .unwrap_or(false);
                    if is_link {
                        hops += 1;
                        let Ok(link_target) = fs::read_link(&current) else {
                            return false;
                        };
                        if hops > MAX_LINK_HOPS || link_target.is_absolute() {
                            return false;
                        }
                        current.pop();
                        for (index, part) in link_target.iter().enumerate() {
                            pending.insert(index, part.to_os_string());
                        }
                    }
                }
            }
            if !current.starts_with(&self.root) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_checked() {
        assert_eq!(
            sanitize_entry_name(b"a/b.txt").unwrap(),
            Some(PathBuf::from("a/b.txt"))
        );
        assert_eq!(
            sanitize_entry_name(b"./a//b/").unwrap(),
            Some(PathBuf::from("a/b"))
        );
        assert_eq!(sanitize_entry_name(b"./").unwrap(), None);
        assert!(matches!(
            sanitize_entry_name(b"../evil"),
            Err(UnpackError::ParentTraversal { .. })
        ));
        assert!(matches!(
            sanitize_entry_name(b"a/../../evil"),
            Err(UnpackError::ParentTraversal { .. })
        ));
        assert!(matches!(
            sanitize_entry_name(b"/etc/passwd"),
            Err(UnpackError::AbsolutePath { .. })
        ));
        assert!(matches!(
            sanitize_entry_name(b""),
            Err(UnpackError::InvalidName { .. })
        ));
        assert!(matches!(
            sanitize_entry_name(b"a\0b"),
            Err(UnpackError::InvalidName { .. })
        ));
    }

    #[test]
    fn links_are_resolved_physically() {
        let temp = tempfile::tempdir().unwrap();
        let target = UnpackTarget::create(&temp.path().join("root")).unwrap();
        target
            .create_directory(Path::new("dir/sub"), "dir/sub/")
            .unwrap();
        target
            .create_symlink(Path::new("dir/up"), b"../dir", "dir/up")
            .unwrap();
        target
            .create_symlink(Path::new("self"), b".", "self")
            .unwrap();
        // Lexically `self/..` is the root; physically it is the root's parent.
        assert!(matches!(
            target.create_symlink(Path::new("out"), b"self/..", "out"),
            Err(UnpackError::EscapingSymlink { .. })
        ));
        assert!(matches!(
            target.create_symlink(Path::new("dir/out"), b"../../x", "dir/out"),
            Err(UnpackError::EscapingSymlink { .. })
        ));
        assert!(matches!(
            target.create_symlink(Path::new("abs"), b"/etc", "abs"),
            Err(UnpackError::EscapingSymlink { .. })
        ));
        // A link that was fine when created but escapes once a later entry appears.
        target
            .create_symlink(Path::new("later"), b"future/..", "later")
            .unwrap();
        target.verify_all_links().unwrap();
        target
            .create_symlink(Path::new("future"), b"self", "future")
            .unwrap();
        assert!(matches!(
            target.verify_all_links(),
            Err(UnpackError::EscapingSymlink { .. })
        ));
    }

    #[test]
    fn nothing_is_written_through_a_link_leaving_the_target() {
        let temp = tempfile::tempdir().unwrap();
        let outside = temp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let target = UnpackTarget::create(&temp.path().join("root")).unwrap();
        // Plant an escaping link directly (as if an earlier check had been bypassed).
        std::os::unix::fs::symlink(&outside, temp.path().join("root/planted")).unwrap();
        assert!(matches!(
            target.create_file(Path::new("planted/evil"), "planted/evil"),
            Err(UnpackError::EscapingParent { .. })
        ));
        // A file entry with the link's own name replaces the link instead of following it.
        std::os::unix::fs::symlink(outside.join("victim"), temp.path().join("root/dangling"))
            .unwrap();
        target
            .create_file(Path::new("dangling"), "dangling")
            .unwrap();
        assert!(!outside.join("victim").exists());
        assert!(fs::read_dir(&outside).unwrap().next().is_none());
        // Hard links may only point at files of the archive.
        fs::write(outside.join("secret"), b"s").unwrap();
        assert!(target
            .create_hard_link(Path::new("h"), b"planted/secret", "h")
            .is_err());
        assert!(target
            .create_hard_link(Path::new("h"), b"../outside/secret", "h")
            .is_err());
        target.create_file(Path::new("inside"), "inside").unwrap();
        target
            .create_hard_link(Path::new("h"), b"inside", "h")
            .unwrap();
    }
}
