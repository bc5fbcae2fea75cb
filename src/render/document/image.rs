//! Images a letter shows (a sender's logo, a signature): PNG, JPEG or SVG, read once when the configuration
//! is loaded and kept in memory, so every letter of a sender is rendered with the same bytes.

use std::path::Path;
use std::sync::Arc;

/// The formats a letter can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Jpeg,
    Svg,
}

impl ImageFormat {
    /// The format the bytes are in, by their signature (not by the file name).
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(Self::Png);
        }
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(Self::Jpeg);
        }
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
        head.contains("<svg").then_some(Self::Svg)
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Svg => "svg",
        }
    }
}

/// An image held in memory, cheap to clone.
#[derive(Clone, PartialEq, Eq)]
pub struct DocumentImage {
    pub format: ImageFormat,
    pub bytes: Arc<[u8]>,
}

impl std::fmt::Debug for DocumentImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DocumentImage({:?}, {} bytes)", self.format, self.bytes.len())
    }
}

/// Largest image a letter carries: a logo or a signature, not a photograph.
const MAX_IMAGE_SIZE: usize = 2 * 1024 * 1024;

impl DocumentImage {
    /// Reads an image file, refusing what is not a PNG, JPEG or SVG, or is larger than 2 MB.
    pub fn load(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_bytes(bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() > MAX_IMAGE_SIZE {
            return Err("the image is larger than 2 MB".into());
        }
        let format = ImageFormat::sniff(&bytes).ok_or("not a PNG, JPEG or SVG image")?;
        Ok(Self { format, bytes: bytes.into() })
    }
}
