//! Files in a chat (sendFile, downloadFile): which files are accepted, before any byte is
//! stored. The limits are the deployment's; the unsafe types and extensions are refused
//! whatever the configuration says, since a browser would run them from a download link.

use crate::error::{DomainError, DomainResult};
use crate::model::FileRef;

/// The deployment's limits (`FILES_MAX_BYTES`, `FILES_MAX_PER_CHAT`, `FILES_ALLOWED_TYPES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLimits {
    pub max_bytes: u64,
    pub max_per_chat: u32,
    /// Media types, lowercase, without parameters.
    pub allowed_types: Vec<String>,
}

/// Images, PDF, plain text and office documents: what a support conversation exchanges.
pub const DEFAULT_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
];

impl Default for FileLimits {
    fn default() -> Self {
        FileLimits {
            max_bytes: DEFAULT_MAX_BYTES,
            max_per_chat: 20,
            allowed_types: DEFAULT_TYPES.iter().map(|t| t.to_string()).collect(),
        }
    }
}

/// Types a browser renders or runs: markup and scripts (stored XSS from the bucket's
/// origin) and executables.
const UNSAFE_TYPES: &[&str] = &[
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
    "application/ecmascript",
    "application/x-msdownload",
    "application/x-msdos-program",
    "application/vnd.microsoft.portable-executable",
    "application/x-executable",
    "application/x-sh",
    "application/java-archive",
    "application/x-httpd-php",
    "application/hta",
];

/// Extensions an operating system runs, mounts or opens with macros, or a browser renders,
/// whatever the declared type (disk images slip past mark-of-the-web; macro documents run
/// code).
const UNSAFE_EXTENSIONS: &[&str] = &[
    "html", "htm", "xhtml", "shtml", "svg", "xml", "js", "mjs", "jse", "exe", "dll", "com", "bat", "cmd", "scr", "msi",
    "ps1", "vbs", "vbe", "wsf", "wsh", "hta", "lnk", "jar", "sh", "php", "apk", "app", "dmg", "iso", "img", "vhd",
    "vhdx", "url", "mht", "mhtml", "pif", "cpl", "reg", "msc", "xll", "docm", "xlsm", "pptm", "dotm", "xltm", "one",
    "chm", "appx", "msix",
];

pub const MAX_NAME_CHARS: usize = 255;
/// What [`accept`] takes as a name, as a JSON Schema pattern: after any path, something
/// that is not blank, `.` or `..`; no control characters (nor, for the schema, more than
/// MAX_NAME_CHARS in all).
pub const NAME_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\s/\\.\x00-\x1f\x7f-\x9f][^/\\\x00-\x1f\x7f-\x9f]*$";
/// The size a deployment takes unless `FILES_MAX_BYTES` says otherwise.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// The media type without parameters, lowercase (`Text/Plain; charset=utf-8` → `text/plain`).
pub fn base_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Whether a type is refused whatever the configuration allows.
pub fn is_unsafe_type(content_type: &str) -> bool {
    UNSAFE_TYPES.contains(&base_type(content_type).as_str())
}

/// The file a client asks to send, checked against the limits: the seed's rejections
/// ("invalid type", "size exceeds the limit") before anything is stored. The name loses
/// any path a browser sent with it.
pub fn accept(file_id: &str, name: &str, size: u64, content_type: &str, limits: &FileLimits) -> DomainResult<FileRef> {
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if name.is_empty() || name == "." || name == ".." {
        return Err(DomainError::invalid("the file needs a name"));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(DomainError::invalid(format!(
            "the file name must have at most {MAX_NAME_CHARS} characters and no control characters"
        )));
    }
    let content_type = base_type(content_type);
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let unsafe_extension = extension.is_some_and(|e| UNSAFE_EXTENSIONS.contains(&e.as_str()));
    if is_unsafe_type(&content_type) || unsafe_extension || !limits.allowed_types.contains(&content_type) {
        return Err(DomainError::invalid(format!("The file sent is an invalid type ({content_type}).")));
    }
    if size == 0 {
        return Err(DomainError::invalid("the file is empty"));
    }
    if size > limits.max_bytes {
        return Err(DomainError::too_large(format!(
            "The file size exceeds the limit ({} bytes at most).",
            limits.max_bytes
        )));
    }
    Ok(FileRef { file_id: file_id.into(), name: name.into(), size, content_type })
}

/// What object storage holds for a file, compared with what was announced: the presigned
/// upload binds the size and type, and this checks them again before the file is posted
/// (a store that does not check signatures, or a policy changed meanwhile).
pub fn check_stored(
    file: &FileRef,
    stored_size: u64,
    stored_type: Option<&str>,
    limits: &FileLimits,
) -> DomainResult<()> {
    if stored_size > limits.max_bytes {
        return Err(DomainError::too_large("The file size exceeds the limit."));
    }
    if stored_size != file.size {
        return Err(DomainError::invalid(format!(
            "the upload has {stored_size} bytes where {} were announced",
            file.size
        )));
    }
    if stored_type.map(base_type).is_some_and(|t| t != file.content_type) {
        return Err(DomainError::invalid("the upload's type is not the one announced"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    /// A name the OpenAPI document's pattern allows is one `accept` takes (the pattern may
    /// be stricter: it refuses control characters in a path that `accept` would cut off).
    #[test]
    fn a_name_the_documented_pattern_allows_is_accepted() {
        let pattern = fancy_regex::Regex::new(NAME_PATTERN).unwrap();
        let limits = FileLimits::default();
        for name in ["a.txt", "x", " a ", "dir/b.txt", "c:\\dir\\c", "..a", "é😀", "a/..b"] {
            assert!(pattern.is_match(name).unwrap(), "{name:?} fits");
            assert!(accept("f", name, 1, "text/plain", &limits).is_ok(), "{name:?} is accepted");
        }
        for name in ["", " ", ".", "..", "a/", "a/..", "a\\ ", "a\u{7}b", "x/\t"] {
            assert!(!pattern.is_match(name).unwrap(), "{name:?} does not fit");
            assert!(accept("f", name, 1, "text/plain", &limits).is_err(), "{name:?} is refused");
        }
    }

    fn kind(r: DomainResult<FileRef>) -> Option<Kind> {
        r.err().map(|e| e.kind)
    }

    #[test]
    fn a_permitted_file_is_accepted_with_its_name_stripped_of_paths() {
        let limits = FileLimits::default();
        let file =
            accept("f1", "C:\\Users\\ann\\receipt.PDF", 1234, "Application/PDF; x=y", &limits).expect("accepted");
        assert_eq!(
            file,
            FileRef {
                file_id: "f1".into(),
                name: "receipt.PDF".into(),
                size: 1234,
                content_type: "application/pdf".into()
            }
        );
    }

    #[test]
    fn unsafe_types_and_extensions_are_refused_even_when_configured() {
        let limits = FileLimits {
            allowed_types: vec!["text/html".into(), "image/svg+xml".into(), "text/plain".into()],
            ..FileLimits::default()
        };
        assert_eq!(kind(accept("f", "a.html", 5, "text/html", &limits)), Some(Kind::Invalid));
        assert_eq!(kind(accept("f", "logo.svg", 5, "image/svg+xml", &limits)), Some(Kind::Invalid));
        assert_eq!(kind(accept("f", "run.exe", 5, "text/plain", &limits)), Some(Kind::Invalid), "the extension counts");
        for name in ["invoice.iso", "disk.VHD", "link.url", "page.mht", "report.docm", "book.xlsm", "note.one"] {
            assert_eq!(kind(accept("f", name, 5, "text/plain", &limits)), Some(Kind::Invalid), "{name}");
        }
        assert_eq!(kind(accept("f", "notes.txt", 5, "text/plain", &limits)), None);
    }

    #[test]
    fn types_outside_the_allow_list_sizes_and_names_are_refused() {
        let limits = FileLimits { max_bytes: 100, ..FileLimits::default() };
        assert_eq!(kind(accept("f", "a.bin", 5, "application/octet-stream", &limits)), Some(Kind::Invalid));
        assert_eq!(kind(accept("f", "a.png", 101, "image/png", &limits)), Some(Kind::TooLarge));
        assert_eq!(kind(accept("f", "a.png", 0, "image/png", &limits)), Some(Kind::Invalid));
        assert_eq!(kind(accept("f", "dir/", 5, "image/png", &limits)), Some(Kind::Invalid));
        assert_eq!(kind(accept("f", "a\u{0}.png", 5, "image/png", &limits)), Some(Kind::Invalid));
        assert_eq!(kind(accept("f", &"x".repeat(300), 5, "image/png", &limits)), Some(Kind::Invalid));
    }

    #[test]
    fn the_stored_object_must_be_what_was_announced() {
        let limits = FileLimits::default();
        let file = accept("f", "a.png", 10, "image/png", &limits).expect("accepted");
        assert!(check_stored(&file, 10, Some("image/png"), &limits).is_ok());
        assert!(check_stored(&file, 10, None, &limits).is_ok());
        assert_eq!(check_stored(&file, 11, Some("image/png"), &limits).map_err(|e| e.kind), Err(Kind::Invalid));
        assert_eq!(check_stored(&file, 10, Some("text/html"), &limits).map_err(|e| e.kind), Err(Kind::Invalid));
        let small = FileLimits { max_bytes: 5, ..FileLimits::default() };
        assert_eq!(check_stored(&file, 10, Some("image/png"), &small).map_err(|e| e.kind), Err(Kind::TooLarge));
    }
}
