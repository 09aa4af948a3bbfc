//! `multipart/form-data` bodies for the form endpoints.

/// The boundary between the parts of every body built here.
pub const BOUNDARY: &str = "profstage-test-boundary-7d1f";

/// One part of a multipart body.
#[derive(Clone)]
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub content: Vec<u8>,
}

/// Returns a text field.
pub fn text(name: &str, value: &str) -> Part {
    Part {
        name: name.into(),
        file_name: None,
        content_type: None,
        content: value.as_bytes().to_vec(),
    }
}

/// Returns the content type of a body built by [`body`].
pub fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Returns the bytes of a body with `parts`, separated by [`BOUNDARY`].
pub fn body(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(file_name) = &part.file_name {
            disposition.push_str(&format!("; filename=\"{file_name}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = &part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}
