//! ECR's answer to a `BatchDeleteImage` id that names a tag *and* a digest, played in
//! front of moto.
//!
//! ECR removes only that tag, and only while it names that digest: a tag that moved to
//! another image is refused per id with `ImageTagDoesNotMatchDigest` (a failure code of
//! ECR's API model). moto 5.2 instead deletes the whole image (every tag) when both
//! match, and answers `ImageNotFound` when they do not. These hooks rewrite such ids
//! before moto sees them: an id whose tag names the digest becomes a tag-only id (what
//! ECR then does), any other becomes the `ImageTagDoesNotMatchDigest` failure ECR gives.
//! The tag-enforcer's untag sends both, so its tests run through these hooks.

use serde_json::{json, Value};

use crate::proxy::{Forward, ProxyHooks, ProxyRequest, ProxyResponse, Upstream};

/// Carries the failures decided before moto answers to the response hook.
const PENDING_FAILURES: &str = "X-Test-Tag-Digest-Failures";

/// [`ProxyHooks`] that give moto ECR's tag-with-digest deletes (see the module).
pub struct EcrTagDeletes;

impl ProxyHooks for EcrTagDeletes {
    fn request(&self, request: ProxyRequest, upstream: &Upstream) -> Forward {
        rewrite_request(request, upstream)
    }

    fn response(
        &self,
        request: &ProxyRequest,
        response: ProxyResponse,
        _upstream: &Upstream,
    ) -> ProxyResponse {
        complete_response(request, response)
    }
}

/// Rewrites the tag-with-digest ids of a `BatchDeleteImage`; other requests pass.
pub fn rewrite_request(request: ProxyRequest, upstream: &Upstream) -> Forward {
    if request.operation() != Some("BatchDeleteImage") {
        return Forward::Upstream(request);
    }
    let mut body = request.json();
    let repository = body["repositoryName"].clone();
    let ids = body["imageIds"].as_array().cloned().unwrap_or_default();
    let mut kept = Vec::new();
    let mut failures = Vec::new();
    for id in ids {
        let (Some(tag), Some(digest)) = (id["imageTag"].as_str(), id["imageDigest"].as_str())
        else {
            kept.push(id);
            continue;
        };
        let described = upstream.ecr(
            "DescribeImages",
            &json!({"repositoryName": repository, "imageIds": [{"imageDigest": digest}]}),
        );
        let tagged = described["imageDetails"][0]["imageTags"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|t| t == tag));
        if tagged {
            kept.push(json!({"imageTag": tag}));
        } else {
            failures.push(json!({"imageId": id, "failureCode": "ImageTagDoesNotMatchDigest",
                "failureReason": format!("Invalid request parameters: tag {tag} does not match digest {digest}")}));
        }
    }
    if kept.is_empty() {
        return Forward::Respond(ProxyResponse::json_status(
            200,
            &json!({"imageIds": [], "failures": failures}),
        ));
    }
    body["imageIds"] = Value::Array(kept);
    let mut request = request.with_json(&body);
    request
        .headers
        .push((PENDING_FAILURES.into(), Value::Array(failures).to_string()));
    Forward::Upstream(request)
}

/// Adds the failures [`rewrite_request`] decided to moto's answer.
pub fn complete_response(request: &ProxyRequest, response: ProxyResponse) -> ProxyResponse {
    let Some(pending) = request.header(PENDING_FAILURES) else {
        return response;
    };
    let pending: Vec<Value> = serde_json::from_str(pending).unwrap_or_default();
    if pending.is_empty() {
        return response;
    }
    let mut body = response.json();
    let mut failures = body["failures"].as_array().cloned().unwrap_or_default();
    failures.extend(pending);
    body["failures"] = Value::Array(failures);
    response.with_json(&body)
}
