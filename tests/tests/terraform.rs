//! Applies the example deployment in `infra/` with the real Terraform against moto (alone,
//! and as the hub of two member accounts), checks what it built through the SDK (exact
//! values, in the account each piece belongs to), checks that a second plan is empty, and
//! destroys it.
//!
//! The configuration is copied to a temp folder and given a `*_override.tf` that points
//! the provider at moto, so no endpoint ever appears in the production code. The
//! provider comes from the offline mirror `/opt/tf-plugins` when it exists (these
//! machines) unless `TF_CLI_CONFIG_FILE` names an existing file; elsewhere a plain online
//! `terraform init` fetches it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::Target;
use aws_sdk_iam::types::Role;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use janitor_e2e::{workspace_root, Moto, ACCOUNT, REGION};
use serde_json::{json, Value};

const FUNCTIONS: [&str; 3] = ["tag-enforcer", "scan-forwarder", "lifecycle-sweeper"];
const PLUGIN_MIRROR: &str = "/opt/tf-plugins";
const IMPORTED_REPOSITORY: &str = "legacy/billing";

/// Services the configuration talks to; each gets moto's endpoint.
const ENDPOINT_SERVICES: [&str; 11] = [
    "cloudwatch",
    "ecr",
    "events",
    "iam",
    "lambda",
    "logs",
    "s3",
    "scheduler",
    "securityhub",
    "sqs",
    "sts",
];

fn arn(service: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}")
}

fn repository_arn(name: &str) -> String {
    arn("ecr", &format!("repository/{name}"))
}

fn function_arn(function: &str) -> String {
    arn("lambda", &format!("function:ecr-janitor-{function}"))
}

fn queue_arn(queue: &str) -> String {
    arn("sqs", &format!("ecr-janitor-{queue}-dlq"))
}

fn role_arn(account: &str, role: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role}")
}

/// The janitor configuration the test deploys (it must arrive in S3 unchanged).
fn janitor_config() -> Value {
    json!({
        "sweeper": {
            "mode": "dry-run",
            "repositories": [
                { "include": ["team-a/*"], "policy": "native", "mode": "enforce",
                  "protectedTags": ["prod-*"], "safetyCap": { "maxImages": 100, "maxFraction": 0.5 } }
            ]
        },
        "tagRules": { "rules": [ { "repositories": ["team-a/*"], "forbidden": ["latest"], "action": "untag" } ] },
        "scan": { "minimumSeverity": "HIGH", "securityHub": true }
    })
}

/// The event pattern of the janitor's rule `ecr-janitor-{key}`. Forwarding an event does
/// not change what matches it: a member's `ecr-janitor-forward-{key}` and the hub's
/// `ecr-janitor-member-{key}` have the same pattern.
fn rule_pattern(key: &str) -> Value {
    match key {
        "image-push" => json!({"source": ["aws.ecr"], "detail-type": ["ECR Image Action"],
                                "detail": {"action-type": ["PUSH"], "result": ["SUCCESS"]}}),
        "basic-scan" => json!({"source": ["aws.ecr"], "detail-type": ["ECR Image Scan"],
                                "detail": {"scan-status": ["COMPLETE"]}}),
        "inspector-finding" => {
            json!({"source": ["aws.inspector2"], "detail-type": ["Inspector2 Finding"],
                   "detail": {"resources": {"type": ["AWS_ECR_CONTAINER_IMAGE"]}}})
        }
        "inspector-scan" => {
            json!({"source": ["aws.inspector2"], "detail-type": ["Inspector2 Scan"]})
        }
        "sweep-repository" => json!({"source": ["ecr-janitor"],
                                      "detail-type": ["Sweep Repository", "Gather In Use", "Sweep Target"],
                                      "account": [ACCOUNT]}),
        other => panic!("no janitor rule {other}"),
    }
}

/// Provider aliases of the root example (`infra/members.tf`): Terraform configures them
/// even when no member is set, so they too must point at moto.
const EXAMPLE_PROVIDER_ALIASES: [&str; 2] = ["member_a", "member_b"];

/// The override that points the default provider and each alias at moto. An aliased
/// provider keeps the rest of its own configuration (its `assume_role` block): an
/// override only replaces the arguments and block types it sets. Three attempts per
/// call, as AWS's SDKs make: a loaded moto now and then drops a connection mid-answer
/// ("use of closed network connection" on the aliases' AssumeRole), and every call
/// these configurations make is one moto implements, so no retry waits in vain.
fn override_tf(endpoint: &str, aliases: &[&str]) -> String {
    let endpoints: String = ENDPOINT_SERVICES
        .iter()
        .map(|service| format!("    {service} = \"{endpoint}\"\n"))
        .collect();
    let provider = |alias: Option<&str>| {
        let alias = alias
            .map(|alias| format!("  alias                       = \"{alias}\"\n"))
            .unwrap_or_default();
        format!(
            r#"
provider "aws" {{
{alias}  region                      = "{REGION}"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  max_retries                 = 3
  s3_use_path_style           = true

  endpoints {{
{endpoints}  }}
}}
"#
        )
    };
    let mut text = String::from("terraform {\n  backend \"local\" {}\n}\n");
    text.push_str(&provider(None));
    for alias in aliases {
        text.push_str(&provider(Some(alias)));
    }
    text
}

const MIRROR_CLI_CONFIG: &str = r#"provider_installation {
  filesystem_mirror {
    path    = "/opt/tf-plugins"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct { exclude = ["registry.terraform.io/hashicorp/aws"] }
}
"#;

/// A zip holding one executable `bootstrap`, stored uncompressed. moto keeps Lambda code
/// but never runs it, so a placeholder script is all the functions need here.
fn bootstrap_zip() -> Vec<u8> {
    const NAME: &[u8] = b"bootstrap";
    let content: &[u8] =
        b"#!/bin/sh\necho 'placeholder: moto stores Lambda code but never runs it' >&2\nexit 1\n";
    let crc = crc32fast::hash(content);
    let size = u32::try_from(content.len()).expect("tiny file");
    let name_len = u16::try_from(NAME.len()).expect("short name");
    let dos_date: u16 = 0x21; // 1980-01-01

    let mut zip = Vec::new();
    // Local file header.
    zip.extend(0x0403_4b50u32.to_le_bytes());
    for field in [20u16, 0, 0, 0, dos_date] {
        zip.extend(field.to_le_bytes());
    }
    for field in [crc, size, size] {
        zip.extend(field.to_le_bytes());
    }
    zip.extend(name_len.to_le_bytes());
    zip.extend(0u16.to_le_bytes());
    zip.extend(NAME);
    zip.extend(content);
    // Central directory.
    let central_offset = u32::try_from(zip.len()).expect("tiny zip");
    zip.extend(0x0201_4b50u32.to_le_bytes());
    for field in [0x031e_u16, 20, 0, 0, 0, dos_date] {
        zip.extend(field.to_le_bytes());
    }
    for field in [crc, size, size] {
        zip.extend(field.to_le_bytes());
    }
    for field in [name_len, 0, 0, 0, 0] {
        zip.extend(field.to_le_bytes());
    }
    zip.extend((0o100_755u32 << 16).to_le_bytes()); // -rwxr-xr-x
    zip.extend(0u32.to_le_bytes());
    zip.extend(NAME);
    let central_size = u32::try_from(zip.len()).expect("tiny zip") - central_offset;
    // End of central directory.
    zip.extend(0x0605_4b50u32.to_le_bytes());
    for field in [0u16, 0, 1, 1] {
        zip.extend(field.to_le_bytes());
    }
    zip.extend(central_size.to_le_bytes());
    zip.extend(central_offset.to_le_bytes());
    zip.extend(0u16.to_le_bytes());
    zip
}

/// Writes `DIR/<function>/bootstrap.zip` for the three functions and returns `DIR`.
fn write_function_zips(dir: &Path) -> PathBuf {
    for function in FUNCTIONS {
        std::fs::create_dir_all(dir.join(function)).expect("artifact dir");
        std::fs::write(dir.join(function).join("bootstrap.zip"), bootstrap_zip())
            .expect("write zip");
    }
    dir.to_path_buf()
}

/// The Terraform CLI configuration to use: a file the caller points at (and that exists)
/// wins (None: Terraform reads it itself); otherwise the offline mirror, when this machine
/// has one.
fn cli_config(temp: &Path) -> Option<PathBuf> {
    let caller_config =
        std::env::var_os("TF_CLI_CONFIG_FILE").is_some_and(|path| Path::new(&path).is_file());
    (!caller_config && Path::new(PLUGIN_MIRROR).is_dir()).then(|| {
        let path = temp.join("terraformrc");
        std::fs::write(&path, MIRROR_CLI_CONFIG).expect("write CLI config");
        path
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name();
        // Local working state of someone's own terraform runs never belongs in the copy.
        if name == ".terraform" || name == "terraform.tfstate" || name == ".terraform.lock.hcl" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy file");
        }
    }
}

/// A Terraform root module in a temp folder, whose providers speak to moto.
struct Terraform {
    dir: PathBuf,
    cli_config: Option<PathBuf>,
}

impl Terraform {
    /// The root module `dir` (inside `temp`), given the override that points its default
    /// provider and each of `aliases` at moto's `endpoint`.
    fn against_moto(temp: &Path, dir: PathBuf, endpoint: &str, aliases: &[&str]) -> Terraform {
        std::fs::write(dir.join("moto_override.tf"), override_tf(endpoint, aliases))
            .expect("write override");
        Terraform {
            dir,
            cli_config: cli_config(temp),
        }
    }

    /// A copy of the root example `infra/` in `temp`, against moto's `endpoint`, with
    /// placeholder function zips, and `variables` on top of those every test of it sets.
    fn example(temp: &Path, endpoint: &str, variables: Value) -> Terraform {
        let infra = temp.join("infra");
        copy_dir(&workspace_root().join("infra"), &infra);
        let artifacts = write_function_zips(&temp.join("lambda"));
        let mut tfvars = json!({
            "artifacts_dir": artifacts,
            // Only x86_64 builds are certain in CI; the default (arm64) is covered by terraform test.
            "architecture": "x86_64",
            // moto serves plain HTTP and evaluates the TLS-only Deny without its condition.
            "config_bucket_require_tls": false,
            "schedule_expression": "rate(12 hours)",
            // moto implements neither pull-through cache rules nor creation templates: the
            // registry module's terraform test covers them (mock provider).
            "cached_registries": {}
        });
        let Value::Object(variables) = variables else {
            panic!("the test's variables are a JSON object: {variables}");
        };
        tfvars
            .as_object_mut()
            .expect("tfvars are an object")
            .extend(variables);
        std::fs::write(infra.join("terraform.tfvars.json"), tfvars.to_string())
            .expect("write tfvars");
        Terraform::against_moto(temp, infra, endpoint, &EXAMPLE_PROVIDER_ALIASES)
    }

    fn run(&self, args: &[&str]) -> Output {
        let started = Instant::now();
        let mut command = Command::new("terraform");
        command
            .arg(format!("-chdir={}", self.dir.display()))
            .args(args)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            // Keep the developer's AWS settings out of the provider's way.
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL");
        if let Some(config) = &self.cli_config {
            command.env("TF_CLI_CONFIG_FILE", config);
        }
        let output = command
            .output()
            .expect("terraform runs (install Terraform >= 1.5)");
        eprintln!(
            "terraform {} took {:.1} s",
            args.first().copied().unwrap_or_default(),
            started.elapsed().as_secs_f64()
        );
        output
    }

    fn run_ok(&self, args: &[&str]) -> Output {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "terraform {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// `terraform init` and `terraform apply`; returns what the apply printed.
    fn init_and_apply(&self) -> Output {
        self.run_ok(&["init", "-no-color"]);
        self.run_ok(&["apply", "-auto-approve", "-no-color"])
    }

    /// Asserts that a plan after the apply finds nothing to change (exit code 0, not 2):
    /// what was applied reads back as configured.
    fn assert_plan_is_empty(&self) {
        let plan = self.run(&["plan", "-detailed-exitcode", "-no-color"]);
        assert_eq!(
            plan.status.code(),
            Some(0),
            "plan after apply must be empty:\n{}\n{}",
            String::from_utf8_lossy(&plan.stdout),
            String::from_utf8_lossy(&plan.stderr)
        );
    }

    fn destroy(&self) {
        self.run_ok(&["destroy", "-auto-approve", "-no-color"]);
    }
}

/// `{action: resources}` of an IAM policy document, merged over its statements.
fn actions_to_resources(document: &str) -> BTreeMap<String, BTreeSet<String>> {
    let policy = policy_json(document);
    let strings = |value: &Value| -> Vec<String> {
        match value {
            Value::String(text) => vec![text.clone()],
            Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().expect("string").to_owned())
                .collect(),
            other => panic!("unexpected policy value {other}"),
        }
    };
    let statements = match &policy["Statement"] {
        Value::Array(statements) => statements.clone(),
        statement => vec![statement.clone()],
    };
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for statement in statements {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
        for action in strings(&statement["Action"]) {
            map.entry(action)
                .or_default()
                .extend(strings(&statement["Resource"]));
        }
    }
    map
}

fn expected_policy(entries: &[(&[&str], Vec<String>)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (actions, resources) in entries {
        for action in *actions {
            map.entry((*action).to_owned())
                .or_default()
                .extend(resources.iter().cloned());
        }
    }
    map
}

/// A JSON document from IAM (URL-encoded) or any other service.
fn policy_json(document: &str) -> Value {
    let decoded = percent_encoding::percent_decode_str(document)
        .decode_utf8()
        .expect("policy is UTF-8");
    serde_json::from_str(&decoded).expect("policy is JSON")
}

// ---------------------------------------------------------------- read-backs
// What the tests read back through the SDK, each read in one place.

/// The name of the S3 bucket whose name starts with `prefix` (the modules let Terraform
/// complete bucket names).
async fn bucket_named(s3: &aws_sdk_s3::Client, prefix: &str) -> String {
    let buckets = s3.list_buckets().send().await.expect("list buckets");
    buckets
        .buckets()
        .iter()
        .filter_map(|bucket| bucket.name())
        .find(|name| name.starts_with(prefix))
        .unwrap_or_else(|| panic!("a bucket {prefix}*"))
        .to_owned()
}

/// The janitor configuration stored in `bucket`, and the version id S3 gave it.
async fn stored_config(s3: &aws_sdk_s3::Client, bucket: &str) -> (Value, Option<String>) {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key("janitor-config.json")
        .send()
        .await
        .expect("config object");
    let version_id = object.version_id().map(str::to_owned);
    let body = object.body.collect().await.expect("body").into_bytes();
    let config = serde_json::from_slice(&body).expect("config is JSON");
    (config, version_id)
}

/// Asserts that `bucket` blocks every kind of public access and encrypts with SSE-S3.
async fn assert_private_and_encrypted(s3: &aws_sdk_s3::Client, bucket: &str) {
    let public_access = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .expect("public access block");
    let block = public_access
        .public_access_block_configuration()
        .expect("configuration");
    assert_eq!(
        [
            block.block_public_acls(),
            block.block_public_policy(),
            block.ignore_public_acls(),
            block.restrict_public_buckets()
        ],
        [Some(true); 4]
    );
    let encryption = s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .expect("encryption");
    let algorithms: Vec<String> = encryption
        .server_side_encryption_configuration()
        .expect("configuration")
        .rules()
        .iter()
        .filter_map(|rule| rule.apply_server_side_encryption_by_default())
        .map(|default| default.sse_algorithm().as_str().to_owned())
        .collect();
    assert_eq!(algorithms, vec!["AES256".to_owned()]);
}

/// The configuration of the janitor's function `function` (`ecr-janitor-{function}`).
async fn function_configuration(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
) -> GetFunctionConfigurationOutput {
    lambda
        .get_function_configuration()
        .function_name(format!("ecr-janitor-{function}"))
        .send()
        .await
        .expect("function configuration")
}

/// The environment variables of a function's configuration.
fn environment(configuration: &GetFunctionConfigurationOutput) -> BTreeMap<String, String> {
    configuration
        .environment()
        .and_then(|environment| environment.variables())
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// The IAM role `name`.
async fn role(iam: &aws_sdk_iam::Client, name: &str) -> Role {
    iam.get_role()
        .role_name(name)
        .send()
        .await
        .unwrap_or_else(|err| panic!("the role {name}: {err}"))
        .role()
        .expect("role")
        .clone()
}

/// Who may assume `role`, as JSON.
fn trust_policy(role: &Role) -> Value {
    policy_json(role.assume_role_policy_document().expect("trust policy"))
}

/// The inline policy of the role `role`, which the modules name like the role, as
/// `{action: resources}`.
async fn inline_policy(
    iam: &aws_sdk_iam::Client,
    role: &str,
) -> BTreeMap<String, BTreeSet<String>> {
    let policy = iam
        .get_role_policy()
        .role_name(role)
        .policy_name(role)
        .send()
        .await
        .unwrap_or_else(|err| panic!("the policy of {role}: {err}"));
    actions_to_resources(policy.policy_document())
}

/// An EventBridge rule as EventBridge describes it.
struct EventRule {
    pattern: Value,
    arn: String,
    targets: Vec<Target>,
}

/// The rule `name` on the bus `bus`, with its targets.
async fn event_rule(events: &aws_sdk_eventbridge::Client, bus: &str, name: &str) -> EventRule {
    let rule = events
        .describe_rule()
        .name(name)
        .event_bus_name(bus)
        .send()
        .await
        .unwrap_or_else(|err| panic!("describe rule {name} on {bus}: {err}"));
    let targets = events
        .list_targets_by_rule()
        .rule(name)
        .event_bus_name(bus)
        .send()
        .await
        .unwrap_or_else(|err| panic!("the targets of {name} on {bus}: {err}"));
    EventRule {
        pattern: serde_json::from_str(rule.event_pattern().expect("pattern"))
            .expect("pattern JSON"),
        arn: rule.arn().expect("rule ARN").to_owned(),
        targets: targets.targets().to_vec(),
    }
}

/// Asserts that `account`, as `sdk` acts in it, holds nothing a deployment creates: no
/// repository, bucket, function, role or rule, and no event bus but the default one.
async fn assert_nothing_left(sdk: &SdkConfig, account: &str) {
    let repositories = aws_sdk_ecr::Client::new(sdk)
        .describe_repositories()
        .send()
        .await
        .expect("describe repositories");
    assert!(
        repositories.repositories().is_empty(),
        "{account}: repositories left {repositories:?}"
    );
    let buckets = aws_sdk_s3::Client::new(sdk)
        .list_buckets()
        .send()
        .await
        .expect("list buckets");
    assert!(
        buckets.buckets().is_empty(),
        "{account}: buckets left {buckets:?}"
    );
    let functions = aws_sdk_lambda::Client::new(sdk)
        .list_functions()
        .send()
        .await
        .expect("list functions");
    assert!(
        functions.functions().is_empty(),
        "{account}: functions left {functions:?}"
    );
    let roles = aws_sdk_iam::Client::new(sdk)
        .list_roles()
        .send()
        .await
        .expect("list roles");
    let names: Vec<&str> = roles.roles().iter().map(|role| role.role_name()).collect();
    assert!(names.is_empty(), "{account}: roles left {names:?}");
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let buses = events.list_event_buses().send().await.expect("list buses");
    let bus_names: Vec<&str> = buses
        .event_buses()
        .iter()
        .filter_map(|bus| bus.name())
        .collect();
    assert_eq!(bus_names, vec!["default"], "{account}");
    let rules = events.list_rules().send().await.expect("list rules");
    assert!(rules.rules().is_empty(), "{account}: rules left {rules:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn example_deployment_applies_against_moto_and_plans_clean() {
    let started = Instant::now();
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let ecr = aws_sdk_ecr::Client::new(&sdk);

    // ---- workspace: a copy of infra/ with the import example enabled
    let temp = tempfile::tempdir().expect("temp dir");
    let terraform = Terraform::example(
        temp.path(),
        &moto.endpoint(),
        json!({
            "enhanced_scanning": { "repository_filters": ["team-a/*"] },
            "janitor_config": janitor_config(),
            "repositories": {
                "team-a/api": {
                    "lifecycle_rules": {
                        "expire_untagged_after_days": 7,
                        "keep_tagged": [ { "tag_patterns": ["v*.*.*"], "keep": 50 } ],
                        "keep_any": 500
                    },
                    "pull_account_ids": ["111122223333"],
                    "push_principal_arns": [role_arn(ACCOUNT, "ci")]
                },
                "team-a/worker": {
                    "lifecycle_rules": { "keep_tagged": [ { "tag_prefixes": ["release-"], "keep": 20 } ] }
                },
                IMPORTED_REPOSITORY: { "image_tag_mutability": "MUTABLE" }
            }
        }),
    );
    std::fs::rename(
        terraform.dir.join("import-existing-repository.tf.example"),
        terraform.dir.join("import-existing-repository.tf"),
    )
    .expect("enable the import example");

    // ---- the repository the import block adopts must exist before the apply
    let existing = ecr
        .create_repository()
        .repository_name(IMPORTED_REPOSITORY)
        .image_scanning_configuration(
            aws_sdk_ecr::types::ImageScanningConfiguration::builder()
                .scan_on_push(false)
                .build(),
        )
        .send()
        .await
        .expect("create the repository to import");
    let existing_created_at = existing
        .repository()
        .and_then(|repository| repository.created_at().cloned())
        .expect("created_at");

    let apply = terraform.init_and_apply();
    let apply_log = String::from_utf8_lossy(&apply.stdout);
    assert!(
        apply_log.contains("1 imported"),
        "the import block must adopt {IMPORTED_REPOSITORY}:\n{apply_log}"
    );

    // ---- repositories
    let repositories = ecr
        .describe_repositories()
        .send()
        .await
        .expect("describe repositories");
    let mut found: Vec<(String, String, bool)> = repositories
        .repositories()
        .iter()
        .map(|repository| {
            (
                repository.repository_name().unwrap_or_default().to_owned(),
                repository
                    .image_tag_mutability()
                    .map(|mutability| mutability.as_str().to_owned())
                    .unwrap_or_default(),
                repository
                    .image_scanning_configuration()
                    .is_some_and(|scanning| scanning.scan_on_push()),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("legacy/billing".to_owned(), "MUTABLE".to_owned(), true),
            ("team-a/api".to_owned(), "IMMUTABLE".to_owned(), true),
            ("team-a/worker".to_owned(), "IMMUTABLE".to_owned(), true),
        ]
    );
    let imported = repositories
        .repositories()
        .iter()
        .find(|repository| repository.repository_name() == Some(IMPORTED_REPOSITORY))
        .expect("imported repository");
    assert_eq!(
        imported.created_at(),
        Some(&existing_created_at),
        "the imported repository must be adopted, not recreated"
    );

    let lifecycle = ecr
        .get_lifecycle_policy()
        .repository_name("team-a/api")
        .send()
        .await
        .expect("lifecycle policy");
    let lifecycle: Value =
        serde_json::from_str(lifecycle.lifecycle_policy_text().unwrap_or_default())
            .expect("policy JSON");
    assert_eq!(
        lifecycle,
        json!({"rules": [
            {"rulePriority": 1, "description": "Expire untagged images 7 days after push",
             "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
             "action": {"type": "expire"}},
            {"rulePriority": 10, "description": "Keep the newest 50 images tagged v*.*.*",
             "selection": {"tagStatus": "tagged", "tagPatternList": ["v*.*.*"], "countType": "imageCountMoreThan", "countNumber": 50},
             "action": {"type": "expire"}},
            {"rulePriority": 100, "description": "Keep the newest 500 images of any kind",
             "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 500},
             "action": {"type": "expire"}}
        ]})
    );
    assert!(
        ecr.get_lifecycle_policy()
            .repository_name(IMPORTED_REPOSITORY)
            .send()
            .await
            .is_err(),
        "a repository without lifecycle inputs gets no policy"
    );

    let repository_policy = ecr
        .get_repository_policy()
        .repository_name("team-a/api")
        .send()
        .await
        .expect("repository policy");
    let repository_policy: Value =
        serde_json::from_str(repository_policy.policy_text().unwrap_or_default())
            .expect("policy JSON");
    let statements: BTreeMap<String, (Value, BTreeSet<String>)> = repository_policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|statement| {
            let actions = statement["Action"]
                .as_array()
                .expect("actions")
                .iter()
                .map(|action| action.as_str().expect("action").to_owned())
                .collect();
            (
                statement["Sid"].as_str().expect("sid").to_owned(),
                (statement["Principal"]["AWS"].clone(), actions),
            )
        })
        .collect();
    let pull: BTreeSet<String> = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    .map(str::to_owned)
    .into();
    let mut push = pull.clone();
    push.extend(
        [
            "ecr:CompleteLayerUpload",
            "ecr:InitiateLayerUpload",
            "ecr:PutImage",
            "ecr:UploadLayerPart",
        ]
        .map(str::to_owned),
    );
    assert_eq!(
        statements,
        BTreeMap::from([
            (
                "CrossAccountPull".to_owned(),
                (json!("arn:aws:iam::111122223333:root"), pull)
            ),
            ("Push".to_owned(), (json!(role_arn(ACCOUNT, "ci")), push)),
        ])
    );

    let scanning = ecr
        .get_registry_scanning_configuration()
        .send()
        .await
        .expect("registry scanning configuration");
    let scanning = scanning.scanning_configuration().expect("configuration");
    assert_eq!(scanning.scan_type().map(|t| t.as_str()), Some("ENHANCED"));
    let rules: Vec<(String, Vec<String>)> = scanning
        .rules()
        .iter()
        .map(|rule| {
            (
                rule.scan_frequency().as_str().to_owned(),
                rule.repository_filters()
                    .iter()
                    .map(|filter| filter.filter().to_owned())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        vec![("SCAN_ON_PUSH".to_owned(), vec!["team-a/*".to_owned()])]
    );

    // ---- configuration bucket
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let bucket = bucket_named(&s3, "ecr-janitor-config-").await;
    let (stored, version_id) = stored_config(&s3, &bucket).await;
    // A real version id (unversioned buckets answer "null") proves versioning is on;
    // moto's GetBucketVersioning answers with an XML root the SDK rejects.
    let version_id = version_id.expect("versioned object");
    assert_ne!(version_id, "null");
    assert_eq!(stored, janitor_config());
    assert_private_and_encrypted(&s3, &bucket).await;

    // ---- functions
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let bus_arn = arn("events", "event-bus/ecr-janitor");
    for function in FUNCTIONS {
        let name = format!("ecr-janitor-{function}");
        let configuration = function_configuration(&lambda, function).await;
        assert_eq!(
            configuration.runtime().map(|r| r.as_str()),
            Some("provided.al2023")
        );
        assert_eq!(configuration.handler(), Some("bootstrap"));
        let architectures: Vec<&str> = configuration
            .architectures()
            .iter()
            .map(|a| a.as_str())
            .collect();
        assert_eq!(architectures, vec!["x86_64"]);
        assert_eq!(
            configuration.role(),
            Some(role_arn(ACCOUNT, &name).as_str())
        );
        let expected_timeout = if function == "lifecycle-sweeper" {
            900
        } else if function == "scan-forwarder" {
            60
        } else {
            30
        };
        assert_eq!(configuration.timeout(), Some(expected_timeout), "{name}");
        assert_eq!(
            environment(&configuration),
            BTreeMap::from([
                (
                    "JANITOR_CONFIG_S3_URI".to_owned(),
                    format!("s3://{bucket}/janitor-config.json")
                ),
                ("JANITOR_CONFIG_VERSION".to_owned(), version_id.clone()),
                ("JANITOR_BUS_NAME".to_owned(), "ecr-janitor".to_owned()),
                ("RUST_LOG".to_owned(), "info".to_owned()),
            ]),
            "{name}"
        );

        let invoke_config = lambda
            .get_function_event_invoke_config()
            .function_name(&name)
            .send()
            .await
            .expect("event invoke config");
        assert_eq!(invoke_config.maximum_retry_attempts(), Some(2));
        assert_eq!(invoke_config.maximum_event_age_in_seconds(), Some(3600));
        assert_eq!(
            invoke_config
                .destination_config()
                .and_then(|destinations| destinations.on_failure())
                .and_then(|on_failure| on_failure.destination()),
            Some(queue_arn("functions").as_str())
        );
    }
    let concurrency = lambda
        .get_function_concurrency()
        .function_name("ecr-janitor-lifecycle-sweeper")
        .send()
        .await
        .expect("sweeper concurrency");
    assert_eq!(concurrency.reserved_concurrent_executions(), Some(5));

    // ---- least-privilege roles
    let iam = aws_sdk_iam::Client::new(&sdk);
    let managed: Vec<String> = ["legacy/billing", "team-a/api", "team-a/worker"]
        .map(repository_arn)
        .to_vec();
    let common = |function: &str| -> Vec<(&'static [&'static str], Vec<String>)> {
        vec![
            (
                &["s3:GetObject"],
                vec![format!("arn:aws:s3:::{bucket}/janitor-config.json")],
            ),
            (&["events:PutEvents"], vec![bus_arn.clone()]),
            (
                &["logs:CreateLogStream", "logs:PutLogEvents"],
                vec![arn(
                    "logs",
                    &format!("log-group:/aws/lambda/ecr-janitor-{function}:*"),
                )],
            ),
            (&["sqs:SendMessage"], vec![queue_arn("functions")]),
        ]
    };
    let mut tag_enforcer = common("tag-enforcer");
    tag_enforcer.push((
        &["ecr:DescribeImages", "ecr:BatchDeleteImage"],
        managed.clone(),
    ));
    let mut scan_forwarder = common("scan-forwarder");
    scan_forwarder.push((
        &["ecr:DescribeImageScanFindings", "ecr:DescribeImages"],
        managed.clone(),
    ));
    scan_forwarder.push((
        &["securityhub:BatchImportFindings"],
        vec![format!(
            "arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
        )],
    ));
    let mut lifecycle_sweeper = common("lifecycle-sweeper");
    lifecycle_sweeper.extend([
        (&["ecr:DescribeRepositories"][..], vec![repository_arn("*")]),
        (
            &[
                "ecr:DescribeImages",
                "ecr:BatchGetImage",
                "ecr:BatchDeleteImage",
                "ecr:GetLifecyclePolicy",
                "ecr:UpdateImageStorageClass",
            ][..],
            managed.clone(),
        ),
        (
            &[
                "ecs:ListClusters",
                "ecs:ListTasks",
                "lambda:ListFunctions",
                "ecs:ListServices",
                "ecs:ListTaskDefinitionFamilies",
                "ecs:ListTaskDefinitions",
                "ecs:DescribeTaskDefinition",
                "events:ListEventBuses",
                "events:ListRules",
                "scheduler:ListSchedules",
                "batch:DescribeJobDefinitions",
            ][..],
            vec!["*".to_owned()],
        ),
        (&["ecs:DescribeTasks"][..], vec![arn("ecs", "task/*")]),
        (&["ecs:DescribeServices"][..], vec![arn("ecs", "service/*")]),
        (
            &["lambda:GetFunction", "lambda:ListAliases"][..],
            vec![arn("lambda", "function:*")],
        ),
        (
            &["events:ListTargetsByRule"][..],
            vec![arn("events", "rule/*"), arn("events", "rule/*/*")],
        ),
        (
            &["scheduler:GetSchedule"][..],
            vec![arn("scheduler", "schedule/*/*")],
        ),
    ]);
    for (function, expected) in [
        ("tag-enforcer", tag_enforcer),
        ("scan-forwarder", scan_forwarder),
        ("lifecycle-sweeper", lifecycle_sweeper),
    ] {
        let name = format!("ecr-janitor-{function}");
        assert_eq!(
            inline_policy(&iam, &name).await,
            expected_policy(&expected),
            "{name}"
        );
        let trust = trust_policy(&role(&iam, &name).await);
        assert_eq!(
            trust["Statement"][0]["Principal"]["Service"],
            "lambda.amazonaws.com"
        );
    }
    let sweeper_arn = function_arn("lifecycle-sweeper");
    assert_eq!(
        inline_policy(&iam, "ecr-janitor-scheduler").await,
        expected_policy(&[
            (
                &["lambda:InvokeFunction"],
                vec![sweeper_arn.clone(), format!("{sweeper_arn}:*")]
            ),
            (&["sqs:SendMessage"], vec![queue_arn("events")]),
        ])
    );

    // ---- event routing: rule patterns, targets, dead letters, retries
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let expected_rules = [
        ("default", "image-push", "tag-enforcer"),
        ("default", "basic-scan", "scan-forwarder"),
        ("default", "inspector-finding", "scan-forwarder"),
        ("default", "inspector-scan", "scan-forwarder"),
        ("ecr-janitor", "sweep-repository", "lifecycle-sweeper"),
    ];
    let mut rule_arns = BTreeSet::new();
    for (bus, key, function) in expected_rules {
        let name = format!("ecr-janitor-{key}");
        let rule = event_rule(&events, bus, &name).await;
        assert_eq!(rule.pattern, rule_pattern(key), "{name}");
        let targets: Vec<(String, String, Option<i32>, Option<i32>)> = rule
            .targets
            .iter()
            .map(|target| {
                (
                    target.arn().to_owned(),
                    target
                        .dead_letter_config()
                        .and_then(|dlq| dlq.arn())
                        .unwrap_or_default()
                        .to_owned(),
                    target
                        .retry_policy()
                        .and_then(|retry| retry.maximum_retry_attempts()),
                    target
                        .retry_policy()
                        .and_then(|retry| retry.maximum_event_age_in_seconds()),
                )
            })
            .collect();
        assert_eq!(
            targets,
            vec![(
                function_arn(function),
                queue_arn("events"),
                Some(8),
                Some(3600)
            )],
            "{name}"
        );
        rule_arns.insert(rule.arn);
    }
    assert_eq!(
        rule_arns
            .iter()
            .filter(|arn| arn.contains(":rule/ecr-janitor/"))
            .count(),
        1,
        "exactly one rule on the janitor bus: {rule_arns:?}"
    );

    // ---- the scheduled full sweep
    let scheduler = aws_sdk_scheduler::Client::new(&sdk);
    let schedule = scheduler
        .get_schedule()
        .name("ecr-janitor-sweep-all")
        .send()
        .await
        .expect("schedule");
    assert_eq!(schedule.schedule_expression(), Some("rate(12 hours)"));
    assert_eq!(
        schedule
            .flexible_time_window()
            .map(|window| window.mode().as_str()),
        Some("OFF")
    );
    let target = schedule.target().expect("schedule target");
    assert_eq!(target.arn(), sweeper_arn);
    assert_eq!(
        target.role_arn(),
        role_arn(ACCOUNT, "ecr-janitor-scheduler")
    );
    assert_eq!(target.input(), Some(r#"{"sweep":"all"}"#));
    assert_eq!(
        target.dead_letter_config().and_then(|dlq| dlq.arn()),
        Some(queue_arn("events").as_str())
    );
    assert_eq!(
        target.retry_policy().map(|retry| (
            retry.maximum_retry_attempts(),
            retry.maximum_event_age_in_seconds()
        )),
        Some((Some(8), Some(3600)))
    );

    // ---- dead-letter queues
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    for queue in ["events", "functions"] {
        let url = sqs
            .get_queue_url()
            .queue_name(format!("ecr-janitor-{queue}-dlq"))
            .send()
            .await
            .expect("queue URL");
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(url.queue_url().expect("URL"))
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .expect("queue attributes");
        let attributes = attributes.attributes().cloned().unwrap_or_default();
        let attribute =
            |name: &str| attributes.get(&aws_sdk_sqs::types::QueueAttributeName::from(name));
        assert_eq!(
            attribute("MessageRetentionPeriod").map(String::as_str),
            Some("1209600")
        );
        assert_eq!(
            attribute("SqsManagedSseEnabled").map(String::as_str),
            Some("true")
        );
        if queue == "events" {
            let policy: Value =
                serde_json::from_str(attribute("Policy").expect("events DLQ policy"))
                    .expect("policy JSON");
            let statement = &policy["Statement"][0];
            assert_eq!(statement["Principal"]["Service"], "events.amazonaws.com");
            assert_eq!(statement["Action"], "sqs:SendMessage");
            assert_eq!(statement["Resource"], queue_arn("events"));
            let sources: BTreeSet<String> = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
                .as_array()
                .expect("source ARNs")
                .iter()
                .map(|arn| arn.as_str().expect("ARN").to_owned())
                .collect();
            assert_eq!(sources, rule_arns);
        }
    }

    // ---- alarms: not read back here. aws-sdk-cloudwatch speaks CloudWatch's CBOR
    // protocol, which moto 5.2 does not serve; the empty plan below proves them anyway,
    // since its refresh reads every alarm back (DescribeAlarms) and compares it with the
    // configuration, and the module's terraform test checks their wiring.

    terraform.assert_plan_is_empty();

    // ---- destroy removes everything it created, including the adopted repository
    terraform.destroy();
    assert_nothing_left(&sdk, ACCOUNT).await;

    eprintln!(
        "terraform apply/plan/destroy against moto: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The registry module applied against moto for what moto implements — replication and
/// the registry policy — then planned clean and destroyed. Pull-through cache rules and
/// repository creation templates are not implemented by moto: the module's
/// `terraform test` covers them with a mocked provider.
#[tokio::test(flavor = "multi_thread")]
async fn registry_module_applies_replication_and_the_registry_policy_against_moto() {
    let moto = Moto::start();
    let ecr = aws_sdk_ecr::Client::new(&moto.sdk_config().await);
    let temp = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &workspace_root().join("infra/modules"),
        &temp.path().join("modules"),
    );
    let root = temp.path().join("registry");
    std::fs::create_dir_all(&root).expect("root dir");
    std::fs::write(
        root.join("main.tf"),
        r#"terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.100, < 7.0" }
  }
}

provider "aws" {
  region = "us-east-1"
}

module "registry" {
  source = "../modules/ecr-registry"

  replication_rules = [{
    destinations        = [{ region = "eu-west-1" }, { region = "us-west-2", registry_id = "210987654321" }]
    repository_prefixes = ["team-a", "shared"]
  }]
  replication_source_account_ids = ["111122223333"]
}
"#,
    )
    .expect("write root");
    let terraform = Terraform::against_moto(temp.path(), root, &moto.endpoint(), &[]);
    terraform.init_and_apply();

    let registry = ecr
        .describe_registry()
        .send()
        .await
        .expect("describe registry");
    let rules = registry
        .replication_configuration()
        .map(|configuration| configuration.rules().to_vec())
        .unwrap_or_default();
    assert_eq!(rules.len(), 1);
    let destinations: BTreeSet<(String, String)> = rules[0]
        .destinations()
        .iter()
        .map(|destination| {
            (
                destination.region().to_owned(),
                destination.registry_id().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        destinations,
        BTreeSet::from([
            ("eu-west-1".to_owned(), ACCOUNT.to_owned()),
            ("us-west-2".to_owned(), "210987654321".to_owned()),
        ])
    );
    let filters: BTreeSet<String> = rules[0]
        .repository_filters()
        .iter()
        .map(|filter| filter.filter().to_owned())
        .collect();
    assert_eq!(
        filters,
        BTreeSet::from(["shared".to_owned(), "team-a".to_owned()])
    );
    let policy = ecr
        .get_registry_policy()
        .send()
        .await
        .expect("registry policy");
    let policy: Value =
        serde_json::from_str(policy.policy_text().expect("policy text")).expect("policy JSON");
    assert_eq!(
        policy["Statement"][0]["Principal"]["AWS"],
        json!(["arn:aws:iam::111122223333:root"])
    );
    assert_eq!(
        policy["Statement"][0]["Action"],
        json!(["ecr:CreateRepository", "ecr:ReplicateImage"])
    );

    terraform.assert_plan_is_empty();
    terraform.destroy();
}

const MEMBER_A: &str = "111111111111";
const MEMBER_B: &str = "222222222222";
const MEMBER_ROLE: &str = "ecr-janitor-member";
const MEMBER_EXTERNAL_ID: &str = "ecr-janitor-e2e";
const ORGANIZATION_ID: &str = "o-exampleorg1";
const FORWARDED: [(&str, &str); 3] = [
    ("image-push", "tag-enforcer"),
    ("basic-scan", "scan-forwarder"),
    ("inspector-finding", "scan-forwarder"),
];

/// The configuration the organization test deploys; the root example adds `targets`.
fn organization_janitor_config() -> Value {
    json!({
        "sweeper": { "mode": "dry-run", "repositories": [ { "include": ["*"], "policy": "native" } ] }
    })
}

/// The member role's policy, as `modules/janitor-member` grants it in `REGION`.
fn member_policy(account: &str, enforce: bool) -> BTreeMap<String, BTreeSet<String>> {
    let member_arn = |service: &str, resource: &str| -> Vec<String> {
        vec![format!("arn:aws:{service}:{REGION}:{account}:{resource}")]
    };
    let repositories = member_arn("ecr", "repository/*");
    let mut entries: Vec<(&[&str], Vec<String>)> = vec![
        (&["ecr:DescribeRepositories"], repositories.clone()),
        (
            &[
                "ecr:DescribeImages",
                "ecr:BatchGetImage",
                "ecr:GetLifecyclePolicy",
                "ecr:DescribeImageScanFindings",
            ],
            repositories.clone(),
        ),
        (
            &[
                "ecs:ListClusters",
                "ecs:ListTasks",
                "ecs:ListServices",
                "ecs:ListTaskDefinitionFamilies",
                "ecs:ListTaskDefinitions",
                "ecs:DescribeTaskDefinition",
                "lambda:ListFunctions",
                "events:ListEventBuses",
                "events:ListRules",
                "scheduler:ListSchedules",
                "batch:DescribeJobDefinitions",
            ],
            vec!["*".to_owned()],
        ),
        (&["ecs:DescribeTasks"], member_arn("ecs", "task/*")),
        (&["ecs:DescribeServices"], member_arn("ecs", "service/*")),
        (
            &["lambda:GetFunction", "lambda:ListAliases"],
            member_arn("lambda", "function:*"),
        ),
        (
            &["events:ListTargetsByRule"],
            [
                member_arn("events", "rule/*"),
                member_arn("events", "rule/*/*"),
            ]
            .concat(),
        ),
        (
            &["scheduler:GetSchedule"],
            member_arn("scheduler", "schedule/*/*"),
        ),
    ];
    if enforce {
        entries.push((
            &["ecr:BatchDeleteImage", "ecr:UpdateImageStorageClass"],
            repositories,
        ));
        entries.push((
            &["securityhub:BatchImportFindings"],
            member_arn("securityhub", &format!("product/{account}/default")),
        ));
    }
    expected_policy(&entries)
}

/// `value` with every array sorted, so that documents compare whatever order a service
/// keeps (IAM and EventBridge treat these lists as sets).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(sorted).collect();
            items.sort_by_key(Value::to_string);
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), sorted(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// SDK configuration acting in `account`: credentials from STS `AssumeRole` against moto,
/// which gives them to the role's account, exactly as Terraform's member providers get
/// theirs (the role Terraform assumes there, the root example's default).
async fn account_sdk_config(
    endpoint: &str,
    hub: &aws_config::SdkConfig,
    account: &str,
) -> aws_config::SdkConfig {
    let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
        "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    ))
    .session_name("janitor-e2e")
    .configure(hub)
    .build()
    .await;
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(provider)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

/// The root example as an organization hub with two members: each member provider assumes
/// a role in its account (moto then acts in that account), the hub's janitor gets its
/// `targets` from the members, and everything is read back through the SDK in the account
/// it must be in; then a clean plan and a destroy that leaves nothing in any account.
///
/// Not checked here, because moto does not model it as AWS does: a member's event
/// arriving at the hub's functions (moto re-puts an event it delivers to another
/// account's bus under that account and Region, losing the member's, evaluates neither
/// the bus policy nor the forwarding role, and cannot invoke Lambda targets), IAM's
/// refusal of trust policies naming principals that do not exist, and STS honouring the
/// trust and the external id (moto's AssumeRole accepts any role). The modules'
/// `terraform test`s pin the policies those rest on.
#[tokio::test(flavor = "multi_thread")]
async fn organization_example_applies_a_hub_and_two_members_against_moto() {
    let started = Instant::now();
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let hub = moto.sdk_config().await;

    let temp = tempfile::tempdir().expect("temp dir");
    let terraform = Terraform::example(
        temp.path(),
        &endpoint,
        json!({
            // moto serves plain HTTP and evaluates the TLS-only Deny without its condition.
            "snapshot_bucket_require_tls": false,
            // The members are the subject here: no repositories of the hub's own.
            "repositories": {},
            "janitor_config": organization_janitor_config(),
            "members": {
                "member_a": { "account_id": MEMBER_A },
                "member_b": { "account_id": MEMBER_B, "enforce": true }
            },
            "member_external_id": MEMBER_EXTERNAL_ID,
            "organization_id": ORGANIZATION_ID
        }),
    );
    terraform.init_and_apply();

    let hub_roles: BTreeSet<String> = FUNCTIONS
        .iter()
        .map(|function| role_arn(ACCOUNT, &format!("ecr-janitor-{function}")))
        .collect();
    let bus_arn = arn("events", "event-bus/ecr-janitor");

    // ---- hub: the configuration names the members
    let s3 = aws_sdk_s3::Client::new(&hub);
    let config_bucket = bucket_named(&s3, "ecr-janitor-config-").await;
    let snapshot_bucket = bucket_named(&s3, "ecr-janitor-in-use-").await;
    let mut expected_config = organization_janitor_config();
    expected_config["targets"] = json!({
        "accounts": [
            { "account": MEMBER_A, "regions": [REGION] },
            { "account": MEMBER_B, "regions": [REGION] }
        ],
        "roleName": MEMBER_ROLE,
        "externalId": MEMBER_EXTERNAL_ID
    });
    let (stored, _version_id) = stored_config(&s3, &config_bucket).await;
    assert_eq!(stored, expected_config);

    // ---- hub: the snapshot bucket is versioned, private, encrypted, and expires old
    // versions. moto's GetBucketVersioning answers in a shape the SDK rejects: two writes
    // of one key keeping two versions prove versioning instead.
    let mut version_ids = BTreeSet::new();
    for content in ["{\"generation\":1}", "{\"generation\":2}"] {
        let put = s3
            .put_object()
            .bucket(&snapshot_bucket)
            .key("in-use/snapshot.json")
            .body(content.as_bytes().to_vec().into())
            .send()
            .await
            .expect("write a snapshot");
        let version = put.version_id().expect("a versioned write").to_owned();
        assert_ne!(version, "null");
        version_ids.insert(version);
    }
    let versions = s3
        .list_object_versions()
        .bucket(&snapshot_bucket)
        .prefix("in-use/")
        .send()
        .await
        .expect("list versions");
    let listed: BTreeSet<String> = versions
        .versions()
        .iter()
        .filter_map(|version| version.version_id().map(str::to_owned))
        .collect();
    assert_eq!(listed, version_ids, "both snapshot versions are kept");
    assert_eq!(version_ids.len(), 2);
    assert_private_and_encrypted(&s3, &snapshot_bucket).await;
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&snapshot_bucket)
        .send()
        .await
        .expect("lifecycle configuration");
    // Replaced headers, and each run's parts and shards, expire after 30 days.
    let rules: Vec<String> = lifecycle
        .rules()
        .iter()
        .map(|rule| {
            format!(
                "{} noncurrent={:?} expiration={:?} abort={:?}",
                rule.id().unwrap_or_default(),
                rule.noncurrent_version_expiration()
                    .and_then(|expiration| expiration.noncurrent_days()),
                rule.expiration().and_then(|expiration| expiration.days()),
                rule.abort_incomplete_multipart_upload()
                    .and_then(|abort| abort.days_after_initiation()),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            "expire-old-snapshots noncurrent=Some(30) expiration=None abort=Some(1)",
            "expire-old-runs noncurrent=None expiration=Some(30) abort=Some(1)",
        ]
    );

    // ---- hub: only the sweeper knows where the snapshots are
    let lambda = aws_sdk_lambda::Client::new(&hub);
    for function in FUNCTIONS {
        let configuration = function_configuration(&lambda, function).await;
        assert_eq!(
            environment(&configuration).get("JANITOR_SNAPSHOT_S3_URI"),
            (function == "lifecycle-sweeper")
                .then(|| format!("s3://{snapshot_bucket}/in-use/"))
                .as_ref(),
            "{function}"
        );
    }

    // ---- hub: every function may assume exactly the member roles; the sweeper alone
    // reads and writes the snapshot prefix; nobody lists the organization (no discovery)
    let iam = aws_sdk_iam::Client::new(&hub);
    let member_roles: BTreeSet<String> = [MEMBER_A, MEMBER_B]
        .map(|account| role_arn(account, MEMBER_ROLE))
        .into();
    for function in FUNCTIONS {
        let role = format!("ecr-janitor-{function}");
        let policy = inline_policy(&iam, &role).await;
        assert_eq!(policy.get("sts:AssumeRole"), Some(&member_roles), "{role}");
        assert_eq!(policy.get("organizations:ListAccounts"), None, "{role}");
        let snapshot_grants: BTreeMap<&str, Option<&BTreeSet<String>>> =
            ["s3:ListBucket", "s3:GetObjectVersion", "s3:PutObject"]
                .into_iter()
                .map(|action| (action, policy.get(action)))
                .collect();
        if function == "lifecycle-sweeper" {
            let objects = BTreeSet::from([format!("arn:aws:s3:::{snapshot_bucket}/in-use/*")]);
            assert_eq!(
                snapshot_grants,
                BTreeMap::from([
                    (
                        "s3:ListBucket",
                        Some(&BTreeSet::from([format!("arn:aws:s3:::{snapshot_bucket}")]))
                    ),
                    ("s3:GetObjectVersion", Some(&objects)),
                    ("s3:PutObject", Some(&objects)),
                ])
            );
            let get_object = policy.get("s3:GetObject").expect("s3:GetObject");
            assert!(get_object.contains(&format!("arn:aws:s3:::{snapshot_bucket}/in-use/*")));
        } else {
            assert!(
                snapshot_grants.values().all(Option::is_none),
                "{role}: {snapshot_grants:?}"
            );
        }
    }

    // ---- hub: the janitor bus admits the members' forwarded kinds of events, routes
    // them like the default bus does, and takes sweep requests from the hub alone
    let events = aws_sdk_eventbridge::Client::new(&hub);
    let bus = events
        .describe_event_bus()
        .name("ecr-janitor")
        .send()
        .await
        .expect("describe the janitor bus");
    let bus_policy = policy_json(bus.policy().expect("a bus policy"));
    let forwarded_kinds = json!({
        "events:source": ["aws.ecr", "aws.inspector2"],
        "events:detail-type": ["ECR Image Action", "ECR Image Scan", "Inspector2 Finding"]
    });
    assert_eq!(
        sorted(&bus_policy),
        sorted(&json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "MemberAccountsForwardEvents",
                    "Effect": "Allow",
                    "Principal": { "AWS": [
                        format!("arn:aws:iam::{MEMBER_A}:root"),
                        format!("arn:aws:iam::{MEMBER_B}:root")
                    ] },
                    "Action": "events:PutEvents",
                    "Resource": bus_arn,
                    "Condition": { "ForAllValues:StringEquals": forwarded_kinds }
                },
                {
                    "Sid": "OrganizationForwardsEvents",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "events:PutEvents",
                    "Resource": bus_arn,
                    "Condition": {
                        "ForAllValues:StringEquals": forwarded_kinds,
                        "StringEquals": { "aws:PrincipalOrgID": ORGANIZATION_ID }
                    }
                }
            ]
        }))
    );
    let mut janitor_bus_rules = vec![(
        "sweep-repository".to_owned(),
        "lifecycle-sweeper",
        rule_pattern("sweep-repository"),
    )];
    for (key, function) in FORWARDED {
        janitor_bus_rules.push((format!("member-{key}"), function, rule_pattern(key)));
    }
    for (key, function, pattern) in janitor_bus_rules {
        let name = format!("ecr-janitor-{key}");
        let rule = event_rule(&events, "ecr-janitor", &name).await;
        assert_eq!(rule.pattern, pattern, "{name}");
        let targets: Vec<&str> = rule.targets.iter().map(Target::arn).collect();
        assert_eq!(targets, vec![function_arn(function)], "{name}");
    }
    let hub_default_rules = events
        .list_rules()
        .name_prefix("ecr-janitor-forward-")
        .send()
        .await
        .expect("hub default-bus rules");
    assert!(
        hub_default_rules.rules().is_empty(),
        "forwarding rules belong to the members: {hub_default_rules:?}"
    );

    // ---- members: read back in each member's own account
    for (account, enforce) in [(MEMBER_A, false), (MEMBER_B, true)] {
        let member = account_sdk_config(&endpoint, &hub, account).await;
        let iam = aws_sdk_iam::Client::new(&member);
        let member_role = role(&iam, MEMBER_ROLE).await;
        assert_eq!(member_role.arn(), role_arn(account, MEMBER_ROLE));
        assert_eq!(
            sorted(&trust_policy(&member_role)),
            sorted(&json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "HubFunctions",
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": { "AWS": hub_roles.iter().collect::<Vec<_>>() },
                    "Condition": { "StringEquals": { "sts:ExternalId": MEMBER_EXTERNAL_ID } }
                }]
            })),
            "{account}: trusted by the hub's three function roles only, with the external id"
        );
        assert_eq!(
            inline_policy(&iam, MEMBER_ROLE).await,
            member_policy(account, enforce),
            "{account} (enforce: {enforce})"
        );

        let forwarder = format!("{MEMBER_ROLE}-events-{REGION}");
        let forwarder_role = role(&iam, &forwarder).await;
        assert_eq!(
            inline_policy(&iam, &forwarder).await,
            expected_policy(&[(&["events:PutEvents"], vec![bus_arn.clone()])])
        );

        let events = aws_sdk_eventbridge::Client::new(&member);
        let mut rule_arns = Vec::new();
        for (key, _) in FORWARDED {
            let name = format!("ecr-janitor-forward-{key}");
            let rule = event_rule(&events, "default", &name).await;
            assert_eq!(rule.pattern, rule_pattern(key), "{account} {name}");
            assert_eq!(
                rule.arn,
                format!("arn:aws:events:{REGION}:{account}:rule/{name}")
            );
            let targets: Vec<(&str, Option<&str>)> = rule
                .targets
                .iter()
                .map(|target| (target.arn(), target.role_arn()))
                .collect();
            assert_eq!(
                targets,
                vec![(bus_arn.as_str(), Some(forwarder_role.arn()))],
                "{account} {name}: the hub's bus, with the forwarding role"
            );
            rule_arns.push(rule.arn);
        }
        assert_eq!(
            sorted(&trust_policy(&forwarder_role)),
            sorted(&json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": { "Service": "events.amazonaws.com" },
                    "Condition": {
                        "StringEquals": { "aws:SourceAccount": account },
                        "ArnEquals": { "aws:SourceArn": rule_arns }
                    }
                }]
            })),
            "{account}: only this account's forwarding rules use the forwarding role"
        );
    }

    terraform.assert_plan_is_empty();

    // ---- destroy leaves nothing in any account (the snapshot versions written above
    // included: the bucket holds derived data and is force-destroyed)
    terraform.destroy();
    for account in [ACCOUNT, MEMBER_A, MEMBER_B] {
        let sdk = if account == ACCOUNT {
            hub.clone()
        } else {
            account_sdk_config(&endpoint, &hub, account).await
        };
        assert_nothing_left(&sdk, account).await;
    }

    eprintln!(
        "organization example apply/plan/destroy against moto: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
