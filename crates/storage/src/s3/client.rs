//! Building the S3 client from validated settings.

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, RequestChecksumCalculation};
use aws_sdk_s3::Client;

use crate::config::S3Settings;

/// Attempts per operation, the first included, for errors the SDK classes as transient.
const MAX_ATTEMPTS: u32 = 3;

/// Builds a client that signs with SigV4 for `settings.region` using static credentials.
///
/// The client has no credential provider chain, so it sends no request for credentials to
/// an instance metadata service or any other host. It connects to `settings.endpoint` only.
pub(super) fn build(settings: &S3Settings) -> Client {
    let credentials = Credentials::new(
        settings.credentials.access_key_id.clone(),
        settings.credentials.secret_access_key.expose().to_owned(),
        None,
        None,
        "profstage storage config",
    );
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(settings.connect_timeout)
        .operation_timeout(settings.operation_timeout)
        .build();

    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .endpoint_url(settings.endpoint.clone())
        .force_path_style(settings.path_style)
        .credentials_provider(credentials)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        // NOTE: with the SDK default (WhenSupported), uploads streamed from a file go out as
        // signed aws-chunked bodies with a checksum trailer, which Garage 2.5.0 rejects over
        // plain HTTP with "Invalid payload signature". So only operations that require a
        // checksum send one; over TLS, TLS protects the bytes in transit.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .build();
    Client::from_conf(config)
}
