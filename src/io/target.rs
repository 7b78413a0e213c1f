//! What an output path names, and so how it is written: a regular file (or
//! nothing yet) is replaced atomically; a device, FIFO or socket is written
//! straight into and never replaced (`-o /dev/null` run as root must not turn
//! the device into a file); a symlink is followed to the file it names.

use std::fs::{Metadata, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Symlinks followed before giving up (Linux's own limit is 40).
const MAX_LINKS: usize = 40;

pub enum Target {
    /// A regular file, or nothing yet: a temporary beside it is renamed over it.
    Replace { path: PathBuf, existing: Option<Metadata> },
    /// Not a regular file (a device, a FIFO, a socket): opened and written into.
    Stream(PathBuf),
}

/// Follows `path` through its symlinks, even to a target that does not exist yet.
pub fn follow_links(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p)
                    .map_err(|e| Error::input(format!("{}: cannot read the symlink: {e}", path.display())))?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(Error::input(format!("{}: too many levels of symbolic links", path.display())))
}

/// Resolves an output path; refuses a directory, a missing directory and a file this user may not write.
pub fn resolve(path: &Path) -> Result<Target> {
    let real = follow_links(path)?;
    match std::fs::metadata(&real) {
        Ok(m) if m.is_dir() => Err(Error::input(format!("{}: is a directory; name a file", path.display()))),
        Ok(m) if m.is_file() => {
            // Opening for writing truncates nothing; it asks the system whether this user may.
            OpenOptions::new()
                .write(true)
                .open(&real)
                .map_err(|e| Error::input(format!("{}: cannot write: {e}", path.display())))?;
            Ok(Target::Replace { path: real, existing: Some(m) })
        }
        Ok(_) => Ok(Target::Stream(real)),
        Err(_) => {
            let dir = directory_of(&real);
            if !dir.is_dir() {
                return Err(Error::input(format!(
                    "{}: directory {} does not exist",
                    path.display(),
                    dir.display()
                )));
            }
            Ok(Target::Replace { path: real, existing: None })
        }
    }
}

/// The directory a file is in (`.` for a bare name).
pub fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Gives a replacement file the mode bits and, where allowed, the owner of the file it replaces.
#[cfg(unix)]
pub fn keep_mode_and_owner(file: &std::fs::File, existing: Option<&Metadata>) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Some(m) = existing else { return Ok(()) };
    // Only root may give a file away; for anyone else the owner is already theirs or cannot change.
    // Owner first: changing it clears the set-id bits that the mode then puts back.
    let _ = std::os::unix::fs::fchown(file, Some(m.uid()), Some(m.gid()));
    file.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o7777))
}

#[cfg(not(unix))]
pub fn keep_mode_and_owner(file: &std::fs::File, existing: Option<&Metadata>) -> std::io::Result<()> {
    if let Some(m) = existing {
        file.set_permissions(m.permissions())?;
    }
    Ok(())
}
