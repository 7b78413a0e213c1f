//! Refusing a run whose output is also one of its inputs or another of its
//! outputs (`predict same.csv -o same.csv`, `--rejects out.csv -o out.csv`):
//! the output would destroy what is being read, or two outputs would mix.
//! Files are compared as the system sees them (device and inode, after
//! symlinks), not by spelling; a file that does not exist yet by its
//! directory and name. Character devices (`/dev/null`, a terminal) are
//! never "the same file": writing one twice destroys nothing.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One file a command names: what it is (for the message), the path, and whether it is read or written.
pub struct Named<'a> {
    pub what: &'a str,
    pub path: &'a Path,
    pub written: bool,
}

impl<'a> Named<'a> {
    pub fn input(what: &'a str, path: &'a Path) -> Self {
        Named { what, path, written: false }
    }
    pub fn output(what: &'a str, path: &'a Path) -> Self {
        Named { what, path, written: true }
    }
}

#[derive(PartialEq, Eq, Debug)]
enum Identity {
    Inode(u64, u64),
    NotYet(PathBuf),
    Stdin,
    Stdout,
}

/// Exit 2 when an output is the same file as an input or as another output.
pub fn refuse_same_file(files: &[Named]) -> Result<()> {
    let ids: Vec<Option<Identity>> = files.iter().map(identity).collect();
    for (i, a) in files.iter().enumerate() {
        for (j, b) in files.iter().enumerate().skip(i + 1) {
            if !(a.written || b.written) {
                continue;
            }
            if let (Some(x), Some(y)) = (&ids[i], &ids[j]) {
                if x == y {
                    let spell = |n: &Named| if n.path.as_os_str() == "-" { String::new() } else { format!(" {}", n.path.display()) };
                    return Err(Error::input(format!(
                        "{}{} and {}{} are the same file: name different files (nothing was written)",
                        a.what,
                        spell(a),
                        b.what,
                        spell(b)
                    )));
                }
            }
        }
    }
    Ok(())
}

fn identity(n: &Named) -> Option<Identity> {
    if n.path.as_os_str() == "-" {
        return Some(standard_stream(n.written));
    }
    let real = super::target::follow_links(n.path).ok()?;
    match std::fs::metadata(&real) {
        Ok(m) => file_identity(&m),
        Err(_) => {
            let dir = super::target::directory_of(&real);
            let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
            Some(Identity::NotYet(dir.join(real.file_name()?)))
        }
    }
}

#[cfg(unix)]
fn file_identity(m: &std::fs::Metadata) -> Option<Identity> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    if m.file_type().is_char_device() {
        return None;
    }
    Some(Identity::Inode(m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_identity(_: &std::fs::Metadata) -> Option<Identity> {
    None
}

/// Stdin or stdout; the file behind it when it is redirected from or to one (`< f.csv`, `>> f.csv`).
fn standard_stream(written: bool) -> Identity {
    let fallback = if written { Identity::Stdout } else { Identity::Stdin };
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = if written { std::io::stdout().as_fd().try_clone_to_owned() } else { std::io::stdin().as_fd().try_clone_to_owned() };
        if let Ok(m) = fd.map(std::fs::File::from).and_then(|f| f.metadata()) {
            if m.is_file() {
                return file_identity(&m).unwrap_or(fallback);
            }
        }
    }
    fallback
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_file_are_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.csv");
        std::fs::write(&f, "x\n").unwrap();
        let other = dir.path().join(".").join("a.csv");
        let err = refuse_same_file(&[Named::input("the input", &f), Named::output("--output", &other)]).unwrap_err();
        assert!(err.to_string().contains("are the same file"), "{err}");
    }

    #[test]
    fn two_new_outputs_of_one_name_clash_and_different_names_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("new.csv");
        let b = dir.path().join("sub/../new.csv");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(refuse_same_file(&[Named::output("--rejects", &a), Named::output("--output", &b)]).is_err());
        let c = dir.path().join("other.csv");
        refuse_same_file(&[Named::output("--rejects", &a), Named::output("--output", &c)]).unwrap();
    }

    #[test]
    fn two_inputs_may_be_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.csv");
        std::fs::write(&f, "x\n").unwrap();
        refuse_same_file(&[Named::input("the input", &f), Named::input("--model", &f)]).unwrap();
    }
}
