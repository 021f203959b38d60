//! The files of a code folder, as they go into a zip: what `.stackcignore` files and stackc's defaults
//! leave out, credential-looking files refused, links followed only inside the project and never round
//! in a loop, and only regular files with UTF-8 names, up to what a zip (and memory) can hold.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::ignore::{self, Rule};
use crate::files::{self, ReadError};

/// The ignore file read in every folder on the way down.
pub const IGNORE_FILE: &str = ".stackcignore";
/// Left out of every zip unless a `.stackcignore` says `!name`: caches, tools' folders, local settings.
const DEFAULTS: &str = ".git/\n__pycache__/\n*.pyc\n.DS_Store\n.aws-sam/\n.env\n.env.*\n.stackcignore\n";
/// Names of files that hold credentials: refused unless a `.stackcignore` names them with `!`.
const CREDENTIAL_NAMES: &str =
    "credentials\n.netrc\n.pgpass\nid_rsa\nid_dsa\nid_ecdsa\nid_ed25519\n*.p12\n*.pfx\n.git-credentials\n";
/// A zip without ZIP64 holds this many entries.
pub const MAX_ENTRIES: usize = u16::MAX as usize;
/// The most a folder may hold, unzipped (Lambda takes 250 MB unzipped; Beanstalk bundles up to 500 MB).
pub const MAX_BYTES: u64 = 512 << 20;
/// Folders deeper than this are refused (no code folder needs it; a loop of links would).
const MAX_DEPTH: usize = 64;

/// A file to zip: its name inside the zip, where it is, and whether a `!` pattern named it (then it is
/// uploaded even if it looks like a credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub named: bool,
}

/// The files of `path` (a folder, or one file) in zip order. `layer_dir` is the layer's folder: its
/// `.stackcignore`, and those of the folders between it and `path`, apply too. Everything must stay
/// inside `root` (the project) once links are followed.
pub fn files_of(path: &Path, layer_dir: &Path, root: &Path) -> Result<Vec<Entry>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if let Some(what) = files::not_a_file(&meta).filter(|_| !meta.is_dir()) {
        return Err(format!("{} is {what}; code is a folder or a file", path.display()));
    }
    if meta.is_file() {
        // A file the template names itself is its own zip.
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file").to_string();
        return Ok(vec![Entry { name, path: path.to_path_buf(), named: true }]);
    }
    let mut walk = Walk {
        root,
        rules: ignore::parse(DEFAULTS, "", "default"),
        credentials: ignore::parse(CREDENTIAL_NAMES, "", "credentials"),
        seen: BTreeSet::new(),
        out: Vec::new(),
    };
    // Rules are matched against paths from the layer's folder when the code is inside it.
    let start = match path.strip_prefix(layer_dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => {
            let mut at = layer_dir.to_path_buf();
            let mut rel_at = String::new();
            for part in rel.parent().into_iter().flat_map(|p| p.components()) {
                walk.read_rules(&at, &rel_at)?;
                let name = part.as_os_str().to_string_lossy();
                at.push(part);
                rel_at = join(&rel_at, &name);
            }
            walk.read_rules(&at, &rel_at)?;
            rel.to_string_lossy().replace('\\', "/")
        }
        _ => String::new(),
    };
    walk.folder(path, &start, "", 0)?;
    walk.out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(walk.out)
}

struct Walk<'a> {
    root: &'a Path,
    rules: Vec<Rule>,
    /// The names of credential files (`CREDENTIAL_NAMES`), parsed once.
    credentials: Vec<Rule>,
    /// Folders walked, by device and inode: a link back to one is a loop.
    seen: BTreeSet<(u64, u64)>,
    out: Vec<Entry>,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

impl Walk<'_> {
    /// The `.stackcignore` of `dir` (whose path from the walk's start is `rel`), if it has one.
    fn read_rules(&mut self, dir: &Path, rel: &str) -> Result<(), String> {
        let file = dir.join(IGNORE_FILE);
        match files::read_text(&file, Some(self.root), 1 << 20) {
            Ok(text) => {
                let label = join(rel, IGNORE_FILE);
                self.rules.extend(ignore::parse(&text, rel, &label));
                Ok(())
            }
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(format!("{}: it {e}", file.display())),
        }
    }

    /// Walk folder `dir`: `rel` is its path from the walk's start (for rules), `inner` inside the zip.
    fn folder(&mut self, dir: &Path, rel: &str, inner: &str, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("`{inner}` is more than {MAX_DEPTH} folders deep"));
        }
        let meta = std::fs::metadata(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        if !self.seen.insert(identity(&meta)) {
            return Err(format!(
                "`{inner}` leads back to a folder already in the zip (a loop of links); leave it out in {IGNORE_FILE}"
            ));
        }
        let kept = self.rules.len();
        self.read_rules(dir, rel)?;
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))? {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            let name = entry.file_name().into_string().map_err(|raw| {
                format!(
                    "`{}` in {} is not a UTF-8 name; zip entries and Lambda need UTF-8 names",
                    raw.to_string_lossy(),
                    dir.display()
                )
            })?;
            names.push(name);
        }
        names.sort();
        for name in names {
            self.entry(&dir.join(&name), &join(rel, &name), &join(inner, &name), depth)?;
        }
        self.rules.truncate(kept);
        Ok(())
    }

    fn entry(&mut self, full: &Path, rel: &str, inner: &str, depth: usize) -> Result<(), String> {
        // The walk starts inside the project (the packager checked it), so only a link can lead out.
        let link = std::fs::symlink_metadata(full).is_ok_and(|m| m.file_type().is_symlink());
        if link {
            stays_inside(full, self.root)
                .map_err(|to| format!("`{inner}` is a link that leads outside the project (to {to})"))?;
        }
        let meta = std::fs::metadata(full).map_err(|e| format!("cannot read `{inner}`: {e}"))?;
        let decided = ignore::decide(&self.rules, rel, meta.is_dir());
        if decided.is_some_and(|r| !r.negate) {
            return Ok(());
        }
        if meta.is_dir() {
            return self.folder(full, rel, inner, depth + 1);
        }
        if let Some(what) = files::not_a_file(&meta) {
            return Err(format!("`{inner}` is {what}, not a file; leave it out in {IGNORE_FILE}"));
        }
        let named = decided.is_some_and(|r| r.negate && r.origin != "default");
        if !named && ignore::decide(&self.credentials, rel, false).is_some() {
            return Err(credential_refusal(inner));
        }
        if self.out.len() >= MAX_ENTRIES {
            return Err(format!("the folder holds more than {MAX_ENTRIES} files, more than a zip holds"));
        }
        self.out.push(Entry { name: inner.to_string(), path: full.to_path_buf(), named });
        Ok(())
    }
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// A private key in a file's content (PEM or OpenSSH form); certificates alone are fine.
pub fn holds_private_key(bytes: &[u8]) -> bool {
    let marker = b"PRIVATE KEY-----";
    bytes.windows(marker.len()).any(|w| w == marker)
}

pub fn credential_refusal(inner: &str) -> String {
    let name = inner.rsplit('/').next().unwrap_or(inner);
    format!(
        "`{inner}` looks like a private key or a credentials file, and stackc does not upload those: remove \
         it, leave it out with a line `{name}` in {IGNORE_FILE}, or upload it on purpose with `!{name}`"
    )
}

/// Where `path` really leads (links followed) when that is outside `root`: a link inside the project must
/// not carry a file from elsewhere (a credentials file, say) into an upload.
pub fn stays_inside(path: &Path, root: &Path) -> Result<(), String> {
    match (std::fs::canonicalize(path), std::fs::canonicalize(root)) {
        (Ok(real), Ok(root)) if !real.starts_with(&root) => Err(real.display().to_string()),
        _ => Ok(()),
    }
}

/// The bytes of each entry, read bounded: a fifo never blocks, and the folder's total is capped.
pub fn read_all(entries: &[Entry], root: &Path) -> Result<Vec<(String, Vec<u8>, bool)>, String> {
    let mut total = 0u64;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let data = files::read_bytes(&e.path, Some(root), MAX_BYTES - total).map_err(|err| match err {
            ReadError::TooLarge { .. } => {
                format!("the folder holds more than {} MiB, more than stackc zips", MAX_BYTES >> 20)
            }
            other => format!("cannot read `{}`: it {other}", e.name),
        })?;
        if !e.named && holds_private_key(&data) {
            return Err(credential_refusal(&e.name));
        }
        total += data.len() as u64;
        out.push((e.name.clone(), data, is_executable(&e.path)));
    }
    Ok(out)
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::tests::tree;

    fn names(dir: &tempfile::TempDir, code: &str, layer: &str) -> Result<Vec<String>, String> {
        let root = dir.path();
        files_of(&root.join(code), &root.join(layer), root).map(|v| v.into_iter().map(|e| e.name).collect())
    }

    #[test]
    fn defaults_and_every_stackcignore_on_the_way_leave_files_out() {
        let dir = tree(&[
            ("stacks/fn/.stackcignore", "*.md\n!KEEP.md\n"),
            ("stacks/fn/code/.stackcignore", "/tests/\n"),
            ("stacks/fn/code/src/.stackcignore", "*.txt\n"),
            ("stacks/fn/code/src/app.py", "x"),
            ("stacks/fn/code/src/notes.txt", "x"),
            ("stacks/fn/code/src/README.md", "x"),
            ("stacks/fn/code/src/KEEP.md", "x"),
            ("stacks/fn/code/src/.env", "DB_PASSWORD=planted-canary-41"),
            ("stacks/fn/code/src/.env.local", "x"),
            ("stacks/fn/code/src/__pycache__/a.pyc", "x"),
            ("stacks/fn/code/src/lib/tests/t.py", "kept: only code/tests is anchored"),
            ("stacks/fn/code/tests/t.py", "x"),
            ("stacks/fn/code/other.txt", "kept: the *.txt rule is src's"),
        ]);
        assert_eq!(
            names(&dir, "stacks/fn/code", "stacks/fn").unwrap(),
            ["other.txt", "src/KEEP.md", "src/app.py", "src/lib/tests/t.py"]
        );
        // The code folder named directly: the layer's rules still apply to it.
        assert_eq!(names(&dir, "stacks/fn/code/src", "stacks/fn").unwrap(), ["KEEP.md", "app.py", "lib/tests/t.py"]);
        // `!.env` uploads it on purpose.
        std::fs::write(dir.path().join("stacks/fn/code/src/.stackcignore"), "*.txt\n!.env\n").unwrap();
        assert!(names(&dir, "stacks/fn/code/src", "stacks/fn").unwrap().contains(&".env".to_string()));
    }

    #[test]
    fn credentials_are_refused_unless_named_with_a_bang() {
        let dir = tree(&[("fn/src/app.py", "x"), ("fn/src/keys/id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\n")]);
        let e = names(&dir, "fn/src", "fn").unwrap_err();
        assert!(e.contains("`keys/id_rsa` looks like a private key") && e.contains("!id_rsa"), "{e}");
        std::fs::write(dir.path().join("fn/.stackcignore"), "!id_rsa\n").unwrap();
        assert!(names(&dir, "fn/src", "fn").unwrap().contains(&"keys/id_rsa".to_string()));
        // By content: a key under any name; a certificate bundle is not a key.
        let dir = tree(&[
            ("fn/src/certifi/cacert.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
            ("fn/src/conf/server.txt", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"),
        ]);
        let root = dir.path();
        let entries = files_of(&root.join("fn/src"), &root.join("fn"), root).unwrap();
        let e = read_all(&entries, root).unwrap_err();
        assert!(e.contains("`conf/server.txt` looks like a private key"), "{e}");
        std::fs::remove_file(root.join("fn/src/conf/server.txt")).unwrap();
        let entries = files_of(&root.join("fn/src"), &root.join("fn"), root).unwrap();
        assert_eq!(read_all(&entries, root).unwrap().len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn loops_of_links_fifos_and_names_that_are_not_utf8_are_errors_not_hangs() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tree(&[("fn/src/app.py", "x")]);
        let src = dir.path().join("fn/src");
        std::os::unix::fs::symlink(".", src.join("a")).unwrap();
        std::os::unix::fs::symlink(".", src.join("b")).unwrap();
        let e = names(&dir, "fn/src", "fn").unwrap_err();
        assert!(e.contains("a loop of links"), "{e}");
        std::fs::remove_file(src.join("a")).unwrap();
        std::fs::remove_file(src.join("b")).unwrap();
        assert!(std::process::Command::new("mkfifo").arg(src.join("pipe")).status().unwrap().success());
        let e = names(&dir, "fn/src", "fn").unwrap_err();
        assert!(e.contains("`pipe` is a fifo, not a file"), "{e}");
        std::fs::remove_file(src.join("pipe")).unwrap();
        for raw in [&b"caf\xe9.txt"[..], &b"caf\xe8.txt"[..]] {
            std::fs::write(src.join(std::ffi::OsStr::from_bytes(raw)), "x").unwrap();
        }
        let e = names(&dir, "fn/src", "fn").unwrap_err();
        assert!(e.contains("is not a UTF-8 name"), "{e}");
    }
}
