//! The artifact bucket: content-addressed uploads (an object that exists under its key is not sent
//! again) and `stackc bootstrap`'s bucket (versioned, encrypted, public access blocked).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};

use super::{port_error, runtime, Aws};
use crate::cfn::port::PortError;
use crate::package::Artifact;

pub struct S3 {
    client: aws_sdk_s3::Client,
    endpoint: String,
}

/// What an upload did: (artifacts sent, bytes sent, artifacts already there).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Uploaded {
    pub sent: usize,
    pub bytes: usize,
    pub present: usize,
}

impl S3 {
    /// S3 in `region` (None: the environment's).
    pub fn new(aws: &Aws, region: Option<&str>) -> S3 {
        let config = aws.config(region);
        // A custom endpoint (MinIO, a local emulator, a VPC endpoint by address) takes bucket names in the
        // path; AWS's own endpoints take them in the host name.
        let custom = aws.conn.endpoint_url.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(&*config)
            .force_path_style(custom)
            .interceptor(super::capped::CapResponses)
            .retry_classifier(super::capped::NoRetryWhenTooLarge)
            .build();
        S3 { client: aws_sdk_s3::Client::from_conf(s3_config), endpoint: aws.endpoint() }
    }

    fn err<E>(&self, op: &str, e: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> PortError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        port_error(op, &self.endpoint, e)
    }

    pub fn object_exists(&self, bucket: &str, key: &str) -> Result<bool, PortError> {
        match runtime().block_on(self.client.head_object().bucket(bucket).key(key).send()) {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(false),
            Err(e) => Err(self.err("HeadObject", e)),
        }
    }

    pub fn bucket_exists(&self, bucket: &str) -> Result<bool, PortError> {
        match runtime().block_on(self.client.head_bucket().bucket(bucket).send()) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(false),
            Err(e) => Err(self.err("HeadBucket", e)),
        }
    }

    /// Send the artifacts that are not in the bucket yet (their key is their content's hash).
    pub fn upload(&self, bucket: &str, artifacts: &[Artifact]) -> Result<Uploaded, String> {
        let mut done = Uploaded::default();
        for a in artifacts {
            if self.object_exists(bucket, &a.key).map_err(|e| format!("s3://{bucket}/{}: {e}", a.key))? {
                done.present += 1;
                continue;
            }
            let req = self.client.put_object().bucket(bucket).key(&a.key).body(ByteStream::from(a.bytes.clone()));
            runtime().block_on(req.send()).map_err(|e| {
                format!("uploading {} to s3://{bucket}/{}: {}", a.source, a.key, self.err("PutObject", e))
            })?;
            done.sent += 1;
            done.bytes += a.bytes.len();
        }
        Ok(done)
    }

    /// The artifact bucket as `stackc bootstrap` makes it: versioned, encrypted at rest (SSE-S3), every
    /// kind of public access blocked. Settings are applied again to an existing bucket.
    pub fn bootstrap_bucket(&self, bucket: &str, region: &str) -> Result<bool, String> {
        let created = if self.bucket_exists(bucket).map_err(|e| e.to_string())? {
            false
        } else {
            let mut req = self.client.create_bucket().bucket(bucket);
            if region != "us-east-1" {
                req = req.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(region))
                        .build(),
                );
            }
            runtime().block_on(req.send()).map_err(|e| self.err("CreateBucket", e).to_string())?;
            true
        };
        let versioning = self.client.put_bucket_versioning().bucket(bucket).versioning_configuration(
            VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
        );
        runtime().block_on(versioning.send()).map_err(|e| self.err("PutBucketVersioning", e).to_string())?;
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .build();
        let encryption = self.client.put_bucket_encryption().bucket(bucket).server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder().rules(rule).build().map_err(|e| e.to_string())?,
        );
        runtime().block_on(encryption.send()).map_err(|e| self.err("PutBucketEncryption", e).to_string())?;
        let block = self.client.put_public_access_block().bucket(bucket).public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        );
        runtime().block_on(block.send()).map_err(|e| self.err("PutPublicAccessBlock", e).to_string())?;
        Ok(created)
    }
}
