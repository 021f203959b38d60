//! Which template properties name something local that packaging uploads (`CodeUri`, `Code`, `TemplateURL`,
//! `AWS::Include` locations...), and how each names its artifact once uploaded.

use serde_json::Value as Json;

/// How a property names its artifact once uploaded.
#[derive(Debug, Clone, Copy)]
pub(super) enum Form {
    /// `s3://bucket/key`
    S3Uri,
    /// `{S3Bucket, S3Key}` (Lambda code)
    LambdaCode,
    /// `{Bucket, Key}`
    BucketKey,
    /// `https://bucket.s3.region.amazonaws.com/key`, the target rendered and packaged as a template.
    TemplateUrl,
}

/// (resource type, property, form, zip a folder?)
pub(super) const PROPERTIES: &[(&str, &str, Form, bool)] = &[
    ("AWS::Serverless::Function", "CodeUri", Form::S3Uri, true),
    ("AWS::Serverless::LayerVersion", "ContentUri", Form::S3Uri, true),
    ("AWS::Serverless::Api", "DefinitionUri", Form::S3Uri, false),
    ("AWS::Serverless::HttpApi", "DefinitionUri", Form::S3Uri, false),
    ("AWS::Serverless::StateMachine", "DefinitionUri", Form::S3Uri, false),
    ("AWS::Serverless::Application", "Location", Form::TemplateUrl, false),
    ("AWS::Lambda::Function", "Code", Form::LambdaCode, true),
    ("AWS::Lambda::LayerVersion", "Content", Form::LambdaCode, true),
    ("AWS::CloudFormation::Stack", "TemplateURL", Form::TemplateUrl, false),
    ("AWS::ApiGateway::RestApi", "BodyS3Location", Form::BucketKey, false),
    ("AWS::StepFunctions::StateMachine", "DefinitionS3Location", Form::BucketKey, false),
];

/// The (resource type, property) pairs packaging rewrites: before packaging they may hold a local path.
pub fn packaged_properties() -> Vec<(&'static str, &'static str)> {
    PROPERTIES.iter().map(|(t, p, _, _)| (*t, *p)).collect()
}

/// A value that names something local: a string that is not an S3 or web address.
pub(super) fn local_path(v: &Json) -> Option<&str> {
    let s = v.as_str()?;
    let remote = ["s3://", "http://", "https://"].iter().any(|p| s.starts_with(p));
    (!remote && !s.is_empty()).then_some(s)
}

/// Whether the template names a local path to package: a packaged property of its resource type, or the
/// location of an `AWS::Include` anywhere.
pub(super) fn names_local_paths(template: &Json) -> bool {
    let resources = template.get("Resources").and_then(|r| r.as_object()).into_iter().flatten();
    let named = resources.map(|(_, r)| r).any(|r| {
        let ty = r.get("Type").and_then(|t| t.as_str()).unwrap_or_default();
        let props = r.get("Properties");
        PROPERTIES
            .iter()
            .filter(|(t, ..)| *t == ty)
            .any(|(_, prop, ..)| props.and_then(|p| p.get(*prop)).and_then(local_path).is_some())
    });
    named || includes_local_path(template)
}

fn includes_local_path(node: &Json) -> bool {
    match node {
        Json::Object(m) => {
            let include = m.get("Fn::Transform").is_some_and(|t| {
                t.get("Name").and_then(|n| n.as_str()) == Some("AWS::Include")
                    && t.get("Parameters").and_then(|p| p.get("Location")).and_then(local_path).is_some()
            });
            include || m.values().any(includes_local_path)
        }
        Json::Array(a) => a.iter().any(includes_local_path),
        _ => false,
    }
}
