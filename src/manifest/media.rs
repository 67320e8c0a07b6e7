//! Media types recognised by their first bytes, the same way the upload service decides:
//! a file named `.png` that is really a text file fails there, so it fails here first.

/// A supported media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Jpeg,
    Png,
    Gif,
    Webp,
    Mp4,
    Mp3,
}

impl Media {
    pub fn as_str(self) -> &'static str {
        match self {
            Media::Jpeg => "jpeg",
            Media::Png => "png",
            Media::Gif => "gif",
            Media::Webp => "webp",
            Media::Mp4 => "mp4",
            Media::Mp3 => "mp3",
        }
    }

    pub fn parse(s: &str) -> Option<Media> {
        [
            Media::Jpeg,
            Media::Png,
            Media::Gif,
            Media::Webp,
            Media::Mp4,
            Media::Mp3,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// How many leading bytes [`sniff`] needs.
pub const SNIFF_LEN: usize = 12;

/// The media type of a file from its first bytes, or `None` if unsupported.
pub fn sniff(head: &[u8]) -> Option<Media> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Media::Jpeg)
    } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(Media::Png)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some(Media::Gif)
    } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some(Media::Webp)
    } else if head.len() >= 8 && &head[4..8] == b"ftyp" {
        Some(Media::Mp4)
    } else if head.starts_with(b"ID3")
        || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0)
    {
        Some(Media::Mp3)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_magic_bytes() {
        assert_eq!(
            sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]),
            Some(Media::Png)
        );
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Media::Jpeg));
        assert_eq!(sniff(b"GIF89a..."), Some(Media::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Media::Webp));
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42"), Some(Media::Mp4));
        assert_eq!(sniff(b"ID3\x04"), Some(Media::Mp3));
        assert_eq!(sniff(b"hello world"), None);
        assert_eq!(sniff(b""), None);
    }
}
