//! A configuration that cannot be read from S3 stops a function's cold start with one
//! line naming the object, the operation, AWS's error code and its message. Alone in
//! its test binary: it sets the process environment the loader reads.

use janitor::config::JanitorConfig;
use janitor_e2e::Moto;

#[tokio::test]
async fn a_missing_config_bucket_is_one_line_with_operation_code_and_message() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    std::env::set_var(
        "JANITOR_CONFIG_S3_URI",
        "s3://no-such-bucket/janitor-config.json",
    );

    let err = JanitorConfig::load_from_env(&sdk)
        .await
        .expect_err("no such bucket");

    assert_eq!(
        err.to_string(),
        "cannot read configuration from s3://no-such-bucket/janitor-config.json: \
         GetObject: NoSuchBucket: The specified bucket does not exist"
    );
}
