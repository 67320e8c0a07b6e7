//! Opening files named by manifests, safely: the file actually opened is checked, not its
//! name. A manifest from a pull request may name a path that passes a check on the name and
//! then leads elsewhere (a symlink swapped in, `/proc/self/environ`, `/dev/zero`, a FIFO);
//! here every file is opened without following a final symlink and without blocking, must
//! be a regular file, must (through the descriptor, not the name) lie inside the root, and
//! is read only up to a size bound.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest manifest file read (a 40,000-document manifest is about 5 MB).
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// Largest JSONL / CSV datapoint source read.
pub const MAX_SOURCE_BYTES: u64 = 512 << 20;

/// Why a file was not read. Messages never contain the file's contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("not found")]
    NotFound,
    #[error("is not a regular file")]
    NotAFile,
    #[error("leads outside the manifest root")]
    Outside,
    #[error("is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("is not UTF-8 text (first invalid byte at line {line}, column {column})")]
    NotUtf8 { line: usize, column: usize },
    #[error("cannot be read: {0}")]
    Io(String),
}

impl FileError {
    fn io(e: &std::io::Error) -> FileError {
        match e.kind() {
            std::io::ErrorKind::NotFound => FileError::NotFound,
            _ => match e.raw_os_error() {
                // Opening a symlink with O_NOFOLLOW.
                #[cfg(unix)]
                Some(libc::ELOOP) => FileError::Outside,
                #[cfg(unix)]
                Some(libc::EISDIR) => FileError::NotAFile,
                _ => FileError::Io(e.kind().to_string()),
            },
        }
    }

    /// The 1-based location inside the file the error concerns, when known.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            FileError::NotUtf8 { line, column } => Some((*line, *column)),
            _ => None,
        }
    }
}

/// Opens `path` for reading: no final symlink, no blocking on FIFOs or devices, a regular
/// file, and (when `root` is given, canonical) physically inside `root`.
pub fn open_regular(path: &Path, root: Option<&Path>) -> Result<(File, Metadata), FileError> {
    let file = open_nofollow(path).map_err(|e| FileError::io(&e))?;
    let meta = file.metadata().map_err(|e| FileError::io(&e))?;
    if !meta.is_file() {
        return Err(FileError::NotAFile);
    }
    if let Some(root) = root {
        if !opened_inside(&file, &meta, path, root) {
            return Err(FileError::Outside);
        }
    }
    Ok((file, meta))
}

#[cfg(unix)]
fn open_nofollow(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

#[cfg(not(unix))]
fn open_nofollow(path: &Path) -> std::io::Result<File> {
    if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(std::io::Error::other("symlink"));
    }
    File::open(path)
}

/// Whether the opened file lies inside `root`: the descriptor's own path where the system
/// tells it (Linux `/proc/self/fd`), else the canonical name, which must still be the very
/// file that was opened (same device and inode).
fn opened_inside(file: &File, meta: &Metadata, path: &Path, root: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        if let Ok(real) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
            return real.starts_with(root);
        }
    }
    let _ = file;
    let Ok(canonical) = std::fs::canonicalize(path) else {
        return false;
    };
    if !canonical.starts_with(root) {
        return false;
    }
    same_file(meta, &canonical)
}

#[cfg(unix)]
fn same_file(meta: &Metadata, canonical: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(canonical)
        .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
}

#[cfg(not(unix))]
fn same_file(_meta: &Metadata, canonical: &Path) -> bool {
    std::fs::symlink_metadata(canonical).is_ok_and(|m| m.is_file())
}

/// Reads a whole regular file of at most `limit` bytes (see [`open_regular`]).
pub fn read_bytes(path: &Path, root: Option<&Path>, limit: u64) -> Result<Vec<u8>, FileError> {
    let (file, meta) = open_regular(path, root)?;
    if meta.len() > limit {
        return Err(FileError::TooLarge { limit });
    }
    let mut buf = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // The file may grow after the check: never read more than the bound.
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| FileError::io(&e))?;
    if buf.len() as u64 > limit {
        return Err(FileError::TooLarge { limit });
    }
    Ok(buf)
}

/// [`read_bytes`] as UTF-8 text; an invalid byte is located by line and column.
pub fn read_text(path: &Path, root: Option<&Path>, limit: u64) -> Result<String, FileError> {
    let bytes = read_bytes(path, root, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = &bytes[..at];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        // Characters, not bytes, before the invalid byte on its line.
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        FileError::NotUtf8 { line, column }
    })
}

/// The lines of a text file, one at a time: what [`read_text`] and `str::lines` give, with
/// the same checks (bounded regular file inside the root, UTF-8 located by line and
/// column), without holding the whole file (a source read again for an upload stays open
/// for as long as the upload runs). Lines before a problem are given to `f` first.
pub fn for_each_line(
    path: &Path,
    root: Option<&Path>,
    limit: u64,
    mut f: impl FnMut(usize, &str),
) -> Result<(), FileError> {
    use std::io::BufRead;
    let (file, meta) = open_regular(path, root)?;
    if meta.len() > limit {
        return Err(FileError::TooLarge { limit });
    }
    // The file may grow after the check: never read more than the bound.
    let mut reader = std::io::BufReader::with_capacity(256 * 1024, file.take(limit + 1));
    let mut buf = Vec::new();
    let mut total: u64 = 0;
    for i in 0.. {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| FileError::io(&e))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > limit {
            return Err(FileError::TooLarge { limit });
        }
        // As `str::lines`: `\n` ends a line, and a `\r` before it is part of the ending.
        let mut line = &buf[..];
        if let Some(l) = line.strip_suffix(b"\n") {
            line = l.strip_suffix(b"\r").unwrap_or(l);
        }
        match std::str::from_utf8(line) {
            Ok(text) => f(i, text),
            Err(e) => {
                let before = &line[..e.valid_up_to()];
                return Err(FileError::NotUtf8 {
                    line: i + 1,
                    column: String::from_utf8_lossy(before).chars().count() + 1,
                });
            }
        }
    }
    Ok(())
}

/// Makes `root/.rapidata/<name>` a directory physically inside `root` and returns it.
/// A committed symlink at `.rapidata` or `.rapidata/<name>` (or a file there) would
/// redirect what rapidata writes to somewhere outside the repository: refused.
pub fn state_dir(root: &Path, name: &str) -> Result<PathBuf, String> {
    let root_canonical = std::fs::canonicalize(root)
        .map_err(|e| format!("cannot open the project root {}: {e}", root.display()))?;
    let mut dir = root_canonical.clone();
    for part in [".rapidata", name] {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "{} is a symlink; rapidata does not write through symlinks in the repository (remove it)",
                    dir.display()
                ))
            }
            Ok(m) if !m.is_dir() => {
                return Err(format!(
                    "{} is not a directory (remove it)",
                    dir.display()
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // `create_dir` does not follow a symlink planted in the meantime: it fails.
                std::fs::create_dir(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            Err(e) => return Err(format!("cannot use {}: {e}", dir.display())),
        }
    }
    let real =
        std::fs::canonicalize(&dir).map_err(|e| format!("cannot use {}: {e}", dir.display()))?;
    if !real.starts_with(&root_canonical) {
        return Err(format!(
            "{} leads outside the project root (remove it)",
            dir.display()
        ));
    }
    Ok(real)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn lines_one_at_a_time_are_the_lines_of_the_whole_text() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let path = root.join("s.jsonl");
        let cases: [&[u8]; 9] = [
            b"",
            b"a",
            b"a\n",
            b"a\r\nb\r\n\n\nc",
            b"a\rb\r",
            b"\r\n\r",
            "\u{e9}t\u{e9}\n\u{1f600}x\r\n".as_bytes(),
            b"ok\nab\xffcd\n",
            b"ok\n\xc3\xa9\xc3\n",
        ];
        for bytes in cases {
            std::fs::write(&path, bytes).unwrap();
            let whole = read_text(&path, Some(&root), 1 << 20);
            let mut got = Vec::new();
            let streamed = for_each_line(&path, Some(&root), 1 << 20, |i, l| {
                got.push((i, l.to_owned()));
            });
            match whole {
                Ok(text) => {
                    assert_eq!(streamed, Ok(()), "{bytes:?}");
                    let want: Vec<(usize, String)> =
                        text.lines().map(str::to_owned).enumerate().collect();
                    assert_eq!(got, want, "{bytes:?}");
                }
                Err(e) => assert_eq!(streamed, Err(e), "{bytes:?}"),
            }
        }
        std::fs::write(&path, "a\nb\n").unwrap();
        assert_eq!(
            for_each_line(&path, Some(&root), 3, |_, _| {}),
            Err(FileError::TooLarge { limit: 3 })
        );
    }

    #[test]
    fn refuses_symlinks_devices_and_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join("a.txt"), "hello\n").unwrap();
        assert_eq!(
            read_text(&root.join("a.txt"), Some(&root), 100).unwrap(),
            "hello\n"
        );
        assert_eq!(
            read_text(&root.join("a.txt"), Some(&root), 3),
            Err(FileError::TooLarge { limit: 3 })
        );
        std::os::unix::fs::symlink("/dev/zero", root.join("zero")).unwrap();
        assert_eq!(
            read_text(&root.join("zero"), Some(&root), 100),
            Err(FileError::Outside)
        );
        assert_eq!(
            read_text(Path::new("/dev/zero"), None, 100),
            Err(FileError::NotAFile)
        );
        std::fs::write(root.join("b.txt"), b"ok\nab\xffc").unwrap();
        assert_eq!(
            read_text(&root.join("b.txt"), Some(&root), 100),
            Err(FileError::NotUtf8 { line: 2, column: 3 })
        );
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("s.txt"), "secret").unwrap();
        assert_eq!(
            read_text(&outside.path().join("s.txt"), Some(&root), 100),
            Err(FileError::Outside)
        );
    }

    #[test]
    fn state_dir_refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let made = state_dir(dir.path(), "cache").unwrap();
        assert!(made.ends_with(".rapidata/cache") && made.is_dir());
        std::fs::remove_dir(&made).unwrap();
        std::os::unix::fs::symlink(outside.path(), &made).unwrap();
        assert!(state_dir(dir.path(), "cache")
            .unwrap_err()
            .contains("symlink"));
    }
}
