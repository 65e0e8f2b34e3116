//! The loopback proxy test helper: the real SDK through the proxy to moto, with hooks
//! that reshape answers, act as a concurrent client, or answer calls themselves.

use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::ImageIdentifier;
use janitor_e2e::proxy::{on_request, on_response, Forward, LoopbackProxy, ProxyResponse};
use janitor_e2e::{create_repository, images, push_image, Moto};
use serde_json::{json, Value};

#[tokio::test]
async fn passes_calls_through_unchanged_and_lists_them() {
    let moto = Moto::start();
    let proxy = LoopbackProxy::start(moto.port(), ());
    let ecr = aws_sdk_ecr::Client::new(&proxy.sdk_config().await);
    let direct = aws_sdk_ecr::Client::new(&moto.sdk_config().await);

    create_repository(&ecr, "app").await;
    let v1 = push_image(&ecr, "app", 1, Some("v1")).await;
    let untagged = push_image(&ecr, "app", 2, None).await;

    let through_proxy = images(&ecr, "app").await;
    assert_eq!(through_proxy, images(&direct, "app").await);
    assert_eq!(through_proxy.len(), 2);
    assert_eq!(through_proxy[&v1], ["v1"]);
    assert!(through_proxy[&untagged].is_empty());
    assert_eq!(
        proxy.operations(),
        ["CreateRepository", "PutImage", "PutImage", "DescribeImages"]
    );
}

#[tokio::test]
async fn passes_rest_calls_through_and_names_them_by_method_and_path() {
    let moto = Moto::start();
    let proxy = LoopbackProxy::start(moto.port(), ());
    let s3 = aws_sdk_s3::Client::new(&proxy.sdk_config().await);

    s3.create_bucket()
        .bucket("configs")
        .send()
        .await
        .expect("create bucket");
    s3.put_object()
        .bucket("configs")
        .key("janitor.json")
        .body(b"{\"sweeper\": {}}".to_vec().into())
        .send()
        .await
        .expect("put object");
    let head = s3
        .head_object()
        .bucket("configs")
        .key("janitor.json")
        .send()
        .await
        .expect("head object");
    assert_eq!(head.content_length(), Some(15));
    let object = s3
        .get_object()
        .bucket("configs")
        .key("janitor.json")
        .send()
        .await
        .expect("get object");
    let body = object.body.collect().await.expect("object body");
    assert_eq!(body.into_bytes().as_ref(), b"{\"sweeper\": {}}");

    assert_eq!(
        proxy.operations(),
        [
            "PUT /configs/",
            "PUT /configs/janitor.json?x-id=PutObject",
            "HEAD /configs/janitor.json",
            "GET /configs/janitor.json?x-id=GetObject",
        ]
    );
}

#[tokio::test]
async fn a_response_hook_reshapes_what_the_client_sees() {
    let moto = Moto::start();
    // Hide every image tagged `hidden` from DescribeImages answers.
    let proxy = LoopbackProxy::start(
        moto.port(),
        on_response(|request, response, _| {
            if request.operation() != Some("DescribeImages") {
                return response;
            }
            let mut answer = response.json();
            if let Some(details) = answer["imageDetails"].as_array_mut() {
                details.retain(|image| !image["imageTags"].to_string().contains("\"hidden\""));
            }
            response.with_json(&answer)
        }),
    );
    let ecr = aws_sdk_ecr::Client::new(&proxy.sdk_config().await);
    let direct = aws_sdk_ecr::Client::new(&moto.sdk_config().await);
    create_repository(&ecr, "app").await;
    let shown = push_image(&ecr, "app", 1, Some("v1")).await;
    let hidden = push_image(&ecr, "app", 2, Some("hidden")).await;

    assert_eq!(
        images(&ecr, "app").await.into_keys().collect::<Vec<_>>(),
        [shown.as_str()]
    );
    let mut both = vec![shown, hidden];
    both.sort();
    assert_eq!(
        images(&direct, "app").await.into_keys().collect::<Vec<_>>(),
        both
    );
}

#[tokio::test]
async fn a_request_hook_acts_as_a_concurrent_client() {
    let moto = Moto::start();
    // Right before the first BatchDeleteImage reaches moto, another client tags the image
    // it deletes by tag `old` as `keep` too: moto then only removes the tag `old`.
    let retagged = AtomicBool::new(false);
    let proxy = LoopbackProxy::start(
        moto.port(),
        on_request(move |request, upstream| {
            if request.operation() == Some("BatchDeleteImage")
                && !retagged.swap(true, Ordering::SeqCst)
            {
                let body = request.json();
                let repository = &body["repositoryName"];
                let found = upstream.ecr(
                    "BatchGetImage",
                    &json!({"repositoryName": repository, "imageIds": body["imageIds"]}),
                );
                let image = &found["images"][0];
                upstream.ecr(
                    "PutImage",
                    &json!({
                        "repositoryName": repository,
                        "imageManifest": image["imageManifest"],
                        "imageManifestMediaType": image["imageManifestMediaType"],
                        "imageTag": "keep",
                    }),
                );
            }
            Forward::Upstream(request)
        }),
    );
    let ecr = aws_sdk_ecr::Client::new(&proxy.sdk_config().await);
    let direct = aws_sdk_ecr::Client::new(&moto.sdk_config().await);
    create_repository(&ecr, "app").await;
    let digest = push_image(&ecr, "app", 1, Some("old")).await;

    let deleted = ecr
        .batch_delete_image()
        .repository_name("app")
        .image_ids(ImageIdentifier::builder().image_tag("old").build())
        .send()
        .await
        .expect("batch delete image");

    assert!(deleted.failures().is_empty(), "{:?}", deleted.failures());
    assert_eq!(deleted.image_ids().len(), 1);
    assert_eq!(
        images(&direct, "app").await,
        [(digest, vec!["keep".to_owned()])].into()
    );
    // The hook's own calls went to moto directly.
    assert_eq!(
        proxy.operations(),
        ["CreateRepository", "PutImage", "BatchDeleteImage"]
    );
}

#[tokio::test]
async fn a_request_hook_answers_with_an_aws_error() {
    let moto = Moto::start();
    let proxy = LoopbackProxy::start(
        moto.port(),
        on_request(|request, _| {
            if request.operation() == Some("DescribeRepositories") {
                return Forward::Respond(ProxyResponse::json_status(
                    400,
                    &json!({"__type": "ThrottlingException", "message": "slow down"}),
                ));
            }
            Forward::Upstream(request)
        }),
    );
    let ecr = aws_sdk_ecr::Client::new(&proxy.sdk_config().await);
    create_repository(&ecr, "app").await;

    let err = ecr
        .describe_repositories()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(err.code(), Some("ThrottlingException"));
    assert_eq!(err.message(), Some("slow down"));
}

#[tokio::test]
async fn a_panicking_hook_fails_the_call_and_is_recorded() {
    let moto = Moto::start();
    let proxy = LoopbackProxy::start(
        moto.port(),
        on_request(|request, _| -> Forward {
            let body: Value = request.json();
            panic!("no hook for {}", body["repositoryName"]);
        }),
    );
    let ecr = aws_sdk_ecr::Client::new(&proxy.sdk_config().await);

    let err = ecr
        .create_repository()
        .repository_name("app")
        .send()
        .await
        .expect_err("the hook panicked");
    assert_eq!(err.code(), Some("ProxyHookPanic"));
    let expected = "the proxy's request hook panicked: no hook for \"app\"";
    assert_eq!(err.message(), Some(expected));
    assert_eq!(proxy.take_hook_panics(), [expected]);
    // Taken: dropping the proxy does not panic.
}

#[tokio::test]
#[should_panic(expected = "the proxy's response hook panicked: unexpected DescribeRepositories")]
async fn a_hook_panic_left_untaken_fails_the_test_when_the_proxy_drops() {
    let moto = Moto::start();
    let proxy = LoopbackProxy::start(
        moto.port(),
        on_response(|request, _, _| panic!("unexpected {}", request.operation().unwrap_or("call"))),
    );
    let ecr = aws_sdk_ecr::Client::new(&proxy.sdk_config().await);
    // Code under test that swallows the error.
    let _ = ecr.describe_repositories().send().await;
}
