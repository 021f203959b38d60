//! The most an AWS answer may hold. Every client stackc makes (`client!`) reads a response body only up to
//! the cap: an endpoint that sends an endless (or enormous) answer ends the call with a sentence saying so,
//! not with memory running out. The largest answer stackc asks for is a template (GetTemplate: up to 1 MB,
//! escaped in XML), far under the default of 64 MiB; `STACKC_MAX_RESPONSE_MB` changes it.

use aws_sdk_cloudformation::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_cloudformation::config::interceptors::InterceptorContext;
use aws_sdk_cloudformation::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_cloudformation::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::body::SdkBody;
use http_body_util::BodyExt;

/// The cap when `STACKC_MAX_RESPONSE_MB` does not set one.
const DEFAULT_MB: usize = 64;

/// The cap, in bytes.
pub fn max_response() -> usize {
    let mb = std::env::var("STACKC_MAX_RESPONSE_MB").ok().and_then(|v| v.trim().parse::<usize>().ok());
    mb.filter(|m| *m > 0).unwrap_or(DEFAULT_MB).saturating_mul(1 << 20)
}

/// Said when an answer is larger than the cap.
#[derive(Debug)]
pub struct TooLarge(usize);

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "an answer larger than {} MiB, more than any AWS answer stackc asks for; stackc stopped reading it \
             (STACKC_MAX_RESPONSE_MB raises the limit)",
            self.0 >> 20
        )
    }
}

impl std::error::Error for TooLarge {}

/// The interceptor every client carries: the body of each answer is wrapped before it is read.
#[derive(Debug)]
pub struct CapResponses;

impl Intercept for CapResponses {
    fn name(&self) -> &'static str {
        "stackc::CapResponses"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let response = context.response_mut();
        let body = response.take_body();
        *response.body_mut() = limit(body, max_response());
        Ok(())
    }
}

/// An answer cut at the cap is not asked for again: the endpoint would send as much the next time.
#[derive(Debug)]
pub struct NoRetryWhenTooLarge;

impl ClassifyRetry for NoRetryWhenTooLarge {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let too_large = match ctx.output_or_error() {
            Some(Err(e)) => super::cause_of::<TooLarge>(e).is_some(),
            _ => false,
        };
        if too_large {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "stackc::NoRetryWhenTooLarge"
    }
}

/// `body`, ending in `TooLarge` once more than `max` bytes came.
fn limit(body: SdkBody, max: usize) -> SdkBody {
    let limited = http_body_util::Limited::new(body, max).map_err(move |e| {
        if e.is::<http_body_util::LengthLimitError>() {
            Box::new(TooLarge(max)) as Box<dyn std::error::Error + Send + Sync>
        } else {
            e
        }
    });
    SdkBody::from_body_1_x(limited)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: SdkBody) -> Result<usize, String> {
        let collected = super::super::runtime().block_on(body.collect()).map_err(|e| e.to_string())?;
        Ok(collected.to_bytes().len())
    }

    #[test]
    fn a_body_over_the_cap_ends_in_a_sentence_and_one_under_it_is_whole() {
        assert_eq!(read(limit(SdkBody::from(vec![b'x'; 1000]), 1000)), Ok(1000));
        let err = read(limit(SdkBody::from(vec![b'x'; 1001]), 1000)).unwrap_err();
        assert!(err.contains("an answer larger than 0 MiB") && err.contains("STACKC_MAX_RESPONSE_MB"), "{err}");
    }
}
