//! Reading a file the project names, safely: links are followed and must stay inside the project; only a
//! regular file is read (a fifo, a device or a folder is named as such, checked before opening, so a fifo
//! never blocks); every read is bounded. An error names the path (and where a link leads), never a line of
//! what it points at. And writing: a file the user owns is replaced whole (never half written), stackc's
//! own output is rewritten in place; neither writes through a link, and an unchanged file is left alone.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest project file read (an environment file, a template, an include).
pub const MAX_PROJECT_FILE: u64 = 4 << 20;

#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// A link (or `..`) that leads out of the project: where to.
    Outside(PathBuf),
    /// Not a regular file: what it is.
    NotAFile(&'static str),
    /// Over the cap: the size (or at least cap + 1).
    TooLarge {
        size: u64,
        cap: u64,
    },
    NotText,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Outside(to) => {
                write!(f, "leads outside the project (to {}); only files inside it are read", to.display())
            }
            ReadError::NotAFile(what) => write!(f, "is {what}, not a file"),
            ReadError::TooLarge { size, cap } => write!(f, "is {size} bytes or more; files are read up to {cap}"),
            ReadError::NotText => write!(f, "is not UTF-8 text"),
        }
    }
}

impl ReadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// What a path that is not a regular file is.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a fifo";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// Whether `path` is `root` joined with plain names none of which is a link: then it is inside `root`
/// without resolving anything (a few `lstat`s instead of a `readlink` per component of both paths).
fn plainly_inside(path: &Path, root: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else { return false };
    let mut at = root.to_path_buf();
    for part in rel.components() {
        let std::path::Component::Normal(name) = part else { return false };
        at.push(name);
        if std::fs::symlink_metadata(&at).map_or(true, |m| m.file_type().is_symlink()) {
            return false;
        }
    }
    true
}

/// The text of `path`, which must be a regular file of at most `cap` bytes and, when `root` is given, be
/// inside it once every link is followed.
pub fn read_text(path: &Path, root: Option<&Path>, cap: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bytes(path, root, cap)?).map_err(|_| ReadError::NotText)
}

/// `read_text` for any bytes (a file to zip or upload).
pub fn read_bytes(path: &Path, root: Option<&Path>, cap: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if let Some(root) = root {
        if !plainly_inside(path, root) {
            let real = path.canonicalize().map_err(ReadError::Io)?;
            let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
            if !real.starts_with(&root) {
                return Err(ReadError::Outside(real));
            }
        }
    }
    if !meta.is_file() {
        return Err(ReadError::NotAFile(kind_of(&meta)));
    }
    if meta.len() > cap {
        return Err(ReadError::TooLarge { size: meta.len(), cap });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    std::fs::File::open(path).map_err(ReadError::Io)?.take(cap + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge { size: bytes.len() as u64, cap });
    }
    Ok(bytes)
}

/// What a path that is not a regular file is (`a fifo`, `a folder`...), or None for a regular file.
pub fn not_a_file(meta: &std::fs::Metadata) -> Option<&'static str> {
    (!meta.is_file()).then(|| kind_of(meta))
}

/// Whether `path` is a regular file holding exactly `bytes` (read only when the size says it may be).
fn holds(meta: Option<&std::fs::Metadata>, path: &Path, bytes: &[u8]) -> bool {
    meta.is_some_and(|m| m.is_file() && m.len() == bytes.len() as u64)
        && std::fs::read(path).is_ok_and(|old| old == bytes)
}

/// Write `bytes` to `path` through a new temporary file renamed over it: a reader sees the old file or the
/// new one, never half of either (for files the user owns: environment files). A temporary file left
/// behind, or planted as a link to somewhere else, is removed, never written through.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let existing = std::fs::symlink_metadata(path).ok();
    if holds(existing.as_ref(), path, bytes) {
        return Ok(());
    }
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
    if std::fs::symlink_metadata(&tmp).is_ok() {
        std::fs::remove_file(&tmp)?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
    if let Err(e) = std::io::Write::write_all(&mut file, bytes) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(file);
    std::fs::rename(&tmp, path)
}

/// Write stackc's own output (a rendered template, a parameters file): an existing regular file with no
/// other name is overwritten in place and cut to length, anything else is written as `write_atomically`
/// does. Renaming over a file, or truncating it to nothing, makes ext4 flush it at once (`auto_da_alloc`):
/// 0.17 ms a file, most of re-rendering 500 layers. A write that fails removes the file, so no half file
/// stays behind; a process killed in the middle of one can leave it, and the next render rewrites it.
pub fn write_output(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let existing = std::fs::symlink_metadata(path).ok();
    if holds(existing.as_ref(), path, bytes) {
        return Ok(());
    }
    #[cfg(unix)]
    if let Some(meta) = existing.filter(|m| m.is_file()) {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        if meta.nlink() == 1 {
            // No link followed, and nothing that could block (a fifo put there since the look above).
            let opened =
                std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path)?;
            let same = opened.metadata().is_ok_and(|now| now.is_file() && now.ino() == meta.ino());
            if same {
                return overwrite(opened, path, bytes);
            }
        }
    }
    write_atomically(path, bytes)
}

fn overwrite(mut file: std::fs::File, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let written = std::io::Write::write_all(&mut file, bytes).and_then(|()| file.set_len(bytes.len() as u64));
    if written.is_err() {
        drop(file);
        let _ = std::fs::remove_file(path);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_out_folders_devices_and_sizes_are_refused_without_reading() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("credentials"), "aws_access_key_id = AKIAOUTSIDE\n").unwrap();
        std::fs::write(root.path().join("ok.toml"), "a = 1\n").unwrap();
        std::fs::create_dir(root.path().join("folder")).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path().join("credentials"), root.path().join("link.toml")).unwrap();
            std::os::unix::fs::symlink("/dev/zero", root.path().join("zero")).unwrap();
            let e = read_text(&root.path().join("link.toml"), Some(root.path()), 100).unwrap_err();
            assert!(matches!(e, ReadError::Outside(_)) && !e.to_string().contains("AKIA"), "{e}");
            let e = read_text(Path::new("/dev/zero"), None, 100).unwrap_err();
            assert_eq!(e.to_string(), "is a character device, not a file");
            assert!(matches!(read_text(&root.path().join("zero"), Some(root.path()), 100), Err(ReadError::Outside(_))));
            let fifo = root.path().join("fifo");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
            if made {
                assert_eq!(read_text(&fifo, Some(root.path()), 100).unwrap_err().to_string(), "is a fifo, not a file");
            }
        }
        assert_eq!(read_text(&root.path().join("ok.toml"), Some(root.path()), 100).unwrap(), "a = 1\n");
        assert_eq!(
            read_text(&root.path().join("folder"), None, 100).unwrap_err().to_string(),
            "is a folder, not a file"
        );
        assert!(matches!(read_text(&root.path().join("ok.toml"), None, 3), Err(ReadError::TooLarge { .. })));
        assert!(read_text(&root.path().join("none"), None, 3).unwrap_err().is_not_found());
        // A link on the way (a folder inside the project that links out) is followed to where it goes.
        #[cfg(unix)]
        {
            std::fs::create_dir(outside.path().join("sub")).unwrap();
            std::fs::write(outside.path().join("sub/t.j2"), "x").unwrap();
            std::os::unix::fs::symlink(outside.path().join("sub"), root.path().join("sub")).unwrap();
            let e = read_text(&root.path().join("sub/t.j2"), Some(root.path()), 100).unwrap_err();
            assert!(matches!(e, ReadError::Outside(_)), "{e}");
            assert!(!plainly_inside(&root.path().join("sub/t.j2"), root.path()));
            assert!(!plainly_inside(&root.path().join("folder/../link.toml"), root.path()));
            assert!(plainly_inside(&root.path().join("ok.toml"), root.path()));
        }
    }

    #[cfg(unix)]
    #[test]
    fn output_is_rewritten_in_place_and_nothing_is_written_through_a_link() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        write_output(&f, b"first, a long text\n").unwrap();
        let ino = std::fs::metadata(&f).unwrap().ino();
        // Shorter and longer than before: the same file, cut to length.
        for text in ["short\n", "a text longer than both before it\n", "x"] {
            write_output(&f, text.as_bytes()).unwrap();
            assert_eq!(std::fs::read_to_string(&f).unwrap(), text);
            assert_eq!(std::fs::metadata(&f).unwrap().ino(), ino, "rewritten in place");
        }
        // A second name for the file: the other name keeps its content (a new file replaces this one).
        let other = outside.path().join("kept");
        std::fs::hard_link(&f, &other).unwrap();
        write_output(&f, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&other).unwrap(), "x");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "new");
        // A link, or a fifo, where the output goes: replaced, never written through, never blocking.
        let target = outside.path().join("target");
        std::fs::write(&target, "outside\n").unwrap();
        let l = dir.path().join("l.yaml");
        std::os::unix::fs::symlink(&target, &l).unwrap();
        write_output(&l, b"inside").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "outside\n");
        assert!(!std::fs::symlink_metadata(&l).unwrap().file_type().is_symlink());
        let fifo = dir.path().join("p.yaml");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        write_output(&fifo, b"text").unwrap();
        assert_eq!(std::fs::read_to_string(&fifo).unwrap(), "text");
        // Unchanged: not touched at all.
        let before = std::fs::metadata(&f).unwrap().mtime_nsec();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_output(&f, b"new").unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().mtime_nsec(), before);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_the_user_owns_is_replaced_whole_and_a_planted_temporary_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("target");
        std::fs::write(&target, "outside\n").unwrap();
        let f = dir.path().join("qa.toml");
        std::fs::write(&f, "old = 1\n").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("qa.toml.tmp")).unwrap();
        write_atomically(&f, b"new = 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "new = 2\n");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "outside\n");
        assert!(!dir.path().join("qa.toml.tmp").exists());
    }
}
