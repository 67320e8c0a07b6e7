//! Content type of an uploaded file: by extension like the SDK (`mimetypes`), else by
//! the file's first bytes, else `application/octet-stream`. The server decides how to
//! process an asset (compression, thumbnails) from this type.

use std::path::Path;

use tokio::io::AsyncReadExt;

/// The type guessed from a file name's extension.
pub fn by_extension(file_name: &str) -> Option<&'static str> {
    let ext = Path::new(file_name)
        .extension()?
        .to_str()?
        .to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" | "jpe" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "svg" => "image/svg+xml",
        "ico" => "image/vnd.microsoft.icon",
        "avif" => "image/avif",
        "heic" => "image/heic",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "avi" => "video/x-msvideo",
        "mkv" => "video/x-matroska",
        "mpeg" | "mpg" => "video/mpeg",
        "mp3" => "audio/mpeg",
        "wav" => "audio/x-wav",
        "ogg" | "oga" => "audio/ogg",
        "flac" => "audio/flac",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "txt" => "text/plain",
        "json" => "application/json",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

/// The type recognised from a file's leading bytes.
pub fn by_magic(head: &[u8]) -> Option<&'static str> {
    let starts = |p: &[u8]| head.starts_with(p);
    Some(if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "image/gif"
    } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        "image/webp"
    } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WAVE" {
        "audio/x-wav"
    } else if starts(b"BM") {
        "image/bmp"
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        "video/mp4"
    } else if starts(b"\x1a\x45\xdf\xa3") {
        "video/webm"
    } else if starts(b"ID3") || starts(b"\xff\xfb") {
        "audio/mpeg"
    } else if starts(b"OggS") {
        "audio/ogg"
    } else if starts(b"fLaC") {
        "audio/flac"
    } else if starts(b"%PDF") {
        "application/pdf"
    } else {
        return None;
    })
}

pub async fn content_type(path: &Path, file_name: &str) -> String {
    if let Some(t) = by_extension(file_name) {
        return t.to_string();
    }
    let mut head = [0u8; 16];
    let n = match tokio::fs::File::open(path).await {
        Ok(mut f) => f.read(&mut head).await.unwrap_or(0),
        Err(_) => 0,
    };
    by_magic(&head[..n])
        .unwrap_or("application/octet-stream")
        .to_string()
}
