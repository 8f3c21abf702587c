//! Object storage of chat files: the one module that builds S3 requests. The bytes never
//! pass through a function: clients upload and download with presigned URLs, and the
//! functions only sign, check what was stored, and delete a chat's files with it.

use std::time::Duration;

use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};

use crate::config::FilesConfig;
use crate::keys;

#[derive(Debug)]
pub enum FilesError {
    /// No bucket is configured.
    NotConfigured,
    /// A `FILES_*` setting could not be read (what is wrong with it).
    Misconfigured(String),
    /// S3 failed or could not be reached.
    Unavailable(String),
}

impl std::fmt::Display for FilesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilesError::NotConfigured => write!(f, "file storage is not configured (FILES_BUCKET)"),
            FilesError::Misconfigured(problem) => write!(f, "file storage is misconfigured: {problem}"),
            FilesError::Unavailable(e) => write!(f, "file storage failed: {e}"),
        }
    }
}

impl std::error::Error for FilesError {}

fn unavailable(e: impl std::fmt::Display) -> FilesError {
    FilesError::Unavailable(e.to_string())
}

/// A request the client makes itself: the URL, its method and the headers it must send
/// exactly as signed.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Presigned {
    pub url: String,
    pub method: String,
    pub headers: std::collections::BTreeMap<String, String>,
    /// Epoch seconds after which the URL is refused.
    pub expires_at: i64,
}

/// What a stored object is.
pub struct Stored {
    pub size: u64,
    pub content_type: Option<String>,
}

/// The chat files' bucket, through a client made for it.
pub struct Files<'a> {
    pub client: &'a aws_sdk_s3::Client,
    pub config: &'a FilesConfig,
    pub now_secs: i64,
}

impl Files<'_> {
    /// Whether a bucket is configured at all.
    pub fn configured(&self) -> Result<(), FilesError> {
        self.bucket().map(|_| ())
    }

    fn bucket(&self) -> Result<&str, FilesError> {
        if let Some(problem) = &self.config.problem {
            return Err(FilesError::Misconfigured(problem.clone()));
        }
        self.config.bucket.as_deref().ok_or(FilesError::NotConfigured)
    }

    fn presigning(&self) -> Result<PresigningConfig, FilesError> {
        PresigningConfig::expires_in(Duration::from_secs(self.config.url_secs)).map_err(unavailable)
    }

    fn presigned(&self, request: PresignedRequest) -> Presigned {
        Presigned {
            url: request.uri().to_string(),
            method: request.method().to_string(),
            headers: request.headers().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect(),
            expires_at: self.now_secs + i64::try_from(self.config.url_secs).unwrap_or(i64::MAX),
        }
    }

    /// A PUT of exactly `size` bytes of `content_type`: both are signed, so S3 refuses
    /// another length or type.
    pub async fn upload_url(
        &self,
        chat_id: &str,
        file_id: &str,
        content_type: &str,
        size: u64,
    ) -> Result<Presigned, FilesError> {
        let request = self
            .client
            .put_object()
            .bucket(self.bucket()?)
            .key(keys::file_object_key(chat_id, file_id))
            .content_type(content_type)
            .content_length(i64::try_from(size).map_err(unavailable)?)
            .presigned(self.presigning()?)
            .await
            .map_err(unavailable)?;
        Ok(self.presigned(request))
    }

    /// A GET that downloads the file under its name, never displayed inline (the bucket's
    /// origin must not render what a chatter uploaded).
    pub async fn download_url(
        &self,
        chat_id: &str,
        file_id: &str,
        name: &str,
        content_type: &str,
    ) -> Result<Presigned, FilesError> {
        let request = self
            .client
            .get_object()
            .bucket(self.bucket()?)
            .key(keys::file_object_key(chat_id, file_id))
            .response_content_disposition(attachment(name))
            .response_content_type(content_type)
            .presigned(self.presigning()?)
            .await
            .map_err(unavailable)?;
        Ok(self.presigned(request))
    }

    /// The stored object, if the upload happened (one HeadObject).
    pub async fn stat(&self, chat_id: &str, file_id: &str) -> Result<Option<Stored>, FilesError> {
        let result =
            self.client.head_object().bucket(self.bucket()?).key(keys::file_object_key(chat_id, file_id)).send().await;
        match result {
            Ok(out) => Ok(Some(Stored {
                size: out.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                content_type: out.content_type().map(str::to_string),
            })),
            Err(e) if matches!(e.as_service_error(), Some(HeadObjectError::NotFound(_))) => Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
            Err(e) => Err(unavailable(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    /// Deletes one object (a refused upload).
    pub async fn delete(&self, chat_id: &str, file_id: &str) -> Result<(), FilesError> {
        let key = keys::file_object_key(chat_id, file_id);
        self.client.delete_object().bucket(self.bucket()?).key(key).send().await.map_err(unavailable)?;
        Ok(())
    }

    /// Deletes every file of a chat; the number deleted. Without a bucket there is nothing
    /// to delete.
    pub async fn delete_chat(&self, chat_id: &str) -> Result<usize, FilesError> {
        let Some(bucket) = self.config.bucket.as_deref() else { return Ok(0) };
        let prefix = keys::chat_files_prefix(chat_id);
        let mut deleted = 0;
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(&prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
            // One DeleteObject each: a chat has a few files (FILES_MAX_PER_CHAT), and no
            // batch call needs a checksum the local emulator may not compute.
            for key in page.contents().iter().filter_map(|o| o.key()) {
                self.client.delete_object().bucket(bucket).key(key).send().await.map_err(unavailable)?;
                deleted += 1;
            }
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                return Ok(deleted);
            }
        }
    }
}

/// `Content-Disposition: attachment` with the name in both forms: a plain ASCII fallback
/// and RFC 5987's UTF-8 one.
fn attachment(name: &str) -> String {
    let fallback: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let encoded = percent_encoding::utf8_percent_encode(name, RFC5987).to_string();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// RFC 5987's attr-char: everything else is percent-encoded.
const RFC5987: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

#[cfg(test)]
mod tests {
    #[test]
    fn a_download_is_an_attachment_under_its_name_in_both_forms() {
        assert_eq!(
            super::attachment("rapport é\"1\".pdf"),
            "attachment; filename=\"rapport __1_.pdf\"; filename*=UTF-8''rapport%20%C3%A9%221%22.pdf"
        );
    }
}
