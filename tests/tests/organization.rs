//! One installation for several accounts and Regions, against moto: the hub
//! (123456789012, us-east-1) serves a central registry in account A (two Regions) that
//! workloads in accounts B (an ECS service at zero tasks) and C (a Lambda function)
//! pull from across accounts, and a non-target account D with a registry of its own.
//! moto maps assumed-role credentials to the role's account, so every target is a
//! separate registry reached through `AssumeRole`, as in AWS.
//!
//! The whole organization-wide run is driven through the janitor bus: the schedule,
//! one `Gather In Use` per target, the assembly of the in-use snapshot by the last
//! gatherer, one `Sweep Target` per target, one `Sweep Repository` per repository.

use std::collections::BTreeSet;

use aws_config::SdkConfig;
use chrono::{Duration, Utc};
use janitor::config::{ConfigSource, JanitorConfig};
use janitor::findings::{Caller, ScanForwarder};
use janitor::report::gather;
use janitor::report::prices::{AppliedPrices, PriceOverrides};
use janitor::sweep::organization::Organization;
use janitor::sweep::run_cost::{RunCost, RunShape};
use janitor::sweep::{Budget, Sweeper};
use janitor::tags::TagEnforcer;
use janitor::targets::TargetDirectory;
use janitor_e2e::proxy::{Forward, LoopbackProxy, ProxyRequest, ProxyResponse};
use janitor_e2e::{
    create_event_bus, create_lambda_role, create_repository, images, push_image,
    run_on_large_stack, sample_event, test_sdk_config, BusCapture, Moto, ACCOUNT,
};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

const BUS: &str = "janitor";
const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";
const D: &str = "444444444444";
/// A member whose role cannot be assumed.
const E: &str = "555555555555";
const EAST: &str = "us-east-1";
const WEST: &str = "eu-west-1";
const REPOSITORY: &str = "central/api";
const SNAPSHOTS: &str = "janitor-snapshots";

/// The SDK configuration of `account` in `region`, through `AssumeRole` (set-up only).
async fn member_sdk(hub: &SdkConfig, account: &str, region: &str) -> SdkConfig {
    let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
        "arn:aws:iam::{account}:role/test-setup"
    ))
    .session_name("test-setup")
    .region(aws_config::Region::new(region.to_owned()))
    .configure(hub)
    .build()
    .await;
    hub.to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build()
}

fn uri(account: &str, region: &str, tag: &str) -> String {
    format!("{account}.dkr.ecr.{region}.amazonaws.com/{REPOSITORY}:{tag}")
}

/// Tags left in `central/api` of `account` in `region`.
async fn tags_left(hub: &SdkConfig, account: &str, region: &str) -> BTreeSet<String> {
    let ecr = aws_sdk_ecr::Client::new(&member_sdk(hub, account, region).await);
    images(&ecr, REPOSITORY)
        .await
        .into_values()
        .flatten()
        .collect()
}

fn tags(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|tag| (*tag).to_owned()).collect()
}

/// Three images tagged v1 (oldest) to v3 (newest) in `central/api`.
async fn seed_registry(hub: &SdkConfig, account: &str, region: &str) {
    let ecr = aws_sdk_ecr::Client::new(&member_sdk(hub, account, region).await);
    create_repository(&ecr, REPOSITORY).await;
    for (n, tag) in [(1, "v1"), (2, "v2"), (3, "v3")] {
        push_image(&ecr, REPOSITORY, n, Some(tag)).await;
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
}

/// B runs an ECS service at zero tasks on A's `v1` in us-east-1.
async fn seed_service_in_b(hub: &SdkConfig) {
    let ecs = aws_sdk_ecs::Client::new(&member_sdk(hub, B, EAST).await);
    ecs.create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .expect("cluster");
    let definition = ecs
        .register_task_definition()
        .family("web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image(uri(A, EAST, "v1"))
                .memory(128)
                .build(),
        )
        .send()
        .await
        .expect("task definition");
    let arn = definition
        .task_definition()
        .and_then(|definition| definition.task_definition_arn())
        .expect("arn")
        .to_owned();
    // A newer revision of the family that no longer uses v1: only the service holds it.
    ecs.register_task_definition()
        .family("web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image(uri(A, EAST, "v3"))
                .memory(128)
                .build(),
        )
        .send()
        .await
        .expect("task definition");
    ecs.create_service()
        .cluster("prod")
        .service_name("web")
        .task_definition(arn)
        .desired_count(0)
        .send()
        .await
        .expect("service");
}

/// C runs a Lambda function on A's `v1` in eu-west-1.
async fn seed_function_in_c(hub: &SdkConfig) {
    let sdk = member_sdk(hub, C, WEST).await;
    let role = create_lambda_role(&sdk, "fn").await;
    aws_sdk_lambda::Client::new(&sdk)
        .create_function()
        .function_name("payments")
        .role(role)
        .package_type(aws_sdk_lambda::types::PackageType::Image)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .image_uri(uri(A, WEST, "v1"))
                .build(),
        )
        .send()
        .await
        .expect("function");
}

fn keep_one() -> Value {
    json!({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPatternList": ["*"],
        "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]})
}

fn config(extra_accounts: Value) -> JanitorConfig {
    let mut accounts = vec![
        json!({"account": A, "regions": [EAST, WEST]}),
        json!({"account": B, "regions": [EAST]}),
        json!({"account": C, "regions": [WEST]}),
    ];
    if let Value::Array(extra) = extra_accounts {
        accounts.extend(extra);
    }
    let document = json!({
        "sweeper": {"mode": "enforce", "repositories": [{"include": ["central/*"], "policy": keep_one()}]},
        "tagRules": {"rules": [{"repositories": ["central/*"], "forbidden": ["latest"], "action": "delete"}]},
        "scan": {"importEnhancedFindings": true},
        "targets": {"accounts": accounts},
    });
    JanitorConfig::from_json(&document.to_string(), ConfigSource::Inline).expect("valid")
}

struct Organization3 {
    _moto: Moto,
    proxy: LoopbackProxy,
    hub: SdkConfig,
    bus: BusCapture,
    calls: Calls,
}

/// The calls the hub's clients made, by name: the operation of JSON-protocol calls,
/// the `Action` of query-protocol ones (STS), `S3 PUT|GET|LIST` for the snapshot
/// bucket, `METHOD path` otherwise.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<String>>>);

impl Calls {
    fn record(&self, request: &ProxyRequest) {
        let body = String::from_utf8_lossy(&request.body);
        let action = body
            .split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
            .map(str::to_owned);
        let name = match (request.operation(), action) {
            (Some(operation), _) => operation.to_owned(),
            (None, Some(action)) => action,
            (None, None) if request.path.starts_with(&format!("/{SNAPSHOTS}")) => {
                match (
                    request.method.as_str(),
                    request.path.contains("list-type=2"),
                ) {
                    ("GET", true) => "S3 LIST".to_owned(),
                    (method, _) => format!("S3 {method}"),
                }
            }
            (None, None) => format!("{} {}", request.method, request.path),
        };
        self.0.lock().expect("calls").push(name);
    }

    fn count(&self, name: &str) -> usize {
        self.0
            .lock()
            .expect("calls")
            .iter()
            .filter(|call| *call == name)
            .count()
    }

    fn clear(&self) {
        self.0.lock().expect("calls").clear();
    }

    /// The counts the run formula predicts, as this run made them.
    fn cost(&self) -> RunCost {
        RunCost {
            invocations: 0,
            put_events: self.count("PutEvents"),
            list_accounts: self.count("ListAccounts"),
            assume_role: self.count("AssumeRole"),
            get_caller_identity: self.count("GetCallerIdentity"),
            s3_put_object: self.count("S3 PUT"),
            s3_list_objects: self.count("S3 LIST"),
            s3_get_object: self.count("S3 GET"),
            describe_repositories: self.count("DescribeRepositories"),
        }
    }
}

async fn start() -> Organization3 {
    let moto = Moto::start();
    let hub = test_sdk_config(&moto.endpoint()).await;
    // The hub's calls go through a proxy that records them and denies every
    // AssumeRole into E.
    let calls = Calls::default();
    let recorder = calls.clone();
    let proxy = LoopbackProxy::start(
        moto.port(),
        janitor_e2e::proxy::on_request(move |request, _| {
            recorder.record(&request);
            let body = String::from_utf8_lossy(&request.body);
            if body.contains("Action=AssumeRole") && body.contains(E) {
                return Forward::Respond(ProxyResponse {
                    status: 403,
                    headers: vec![("Content-Type".into(), "text/xml".into())],
                    body: b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
                        <Message>not authorized to perform sts:AssumeRole</Message></Error>\
                        <RequestId>1</RequestId></ErrorResponse>"
                        .to_vec(),
                });
            }
            Forward::Upstream(request)
        }),
    );
    let s3 = aws_sdk_s3::Client::new(&hub);
    s3.create_bucket()
        .bucket(SNAPSHOTS)
        .send()
        .await
        .expect("bucket");
    s3.put_bucket_versioning()
        .bucket(SNAPSHOTS)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
    let bus = BusCapture::start(&hub, BUS).await;
    seed_registry(&hub, A, EAST).await;
    seed_registry(&hub, A, WEST).await;
    seed_registry(&hub, D, EAST).await;
    seed_service_in_b(&hub).await;
    seed_function_in_c(&hub).await;
    Organization3 {
        _moto: moto,
        proxy,
        hub,
        bus,
        calls,
    }
}

impl Organization3 {
    async fn sweeper(&self, config: JanitorConfig) -> Sweeper {
        let via_proxy = self.proxy.sdk_config().await;
        let organization = Organization::new(
            &via_proxy,
            &config,
            "lifecycle-sweeper",
            Some(&format!("s3://{SNAPSHOTS}/in-use/")),
        )
        .await
        .expect("targets reachable");
        let mut sweeper = Sweeper::from_sdk_config(&via_proxy, config, Some(BUS.to_owned()));
        sweeper.organization = organization;
        sweeper
    }

    /// Hands every captured event of `detail_type` to the sweeper, in order; returns
    /// their details and the results.
    async fn deliver(
        &self,
        sweeper: &Sweeper,
        events: &[Value],
        detail_type: &str,
        now: chrono::DateTime<Utc>,
    ) -> (Vec<Value>, Vec<Value>) {
        let mut details = Vec::new();
        let mut results = Vec::new();
        for event in events
            .iter()
            .filter(|event| event["detail-type"] == detail_type)
        {
            details.push(event["detail"].clone());
            let result = sweeper
                .handle_event(event, now, Budget::unlimited())
                .await
                .unwrap_or_else(|err| panic!("{detail_type}: {err}"));
            results.push(result);
        }
        (details, results)
    }
}

fn scheduled() -> Value {
    json!({"version": "0", "id": "s", "detail-type": "Scheduled Event", "source": "aws.events",
           "account": ACCOUNT, "time": "2026-12-03T00:00:00Z", "region": EAST,
           "resources": [], "detail": {}})
}

fn pairs(details: &[Value]) -> Vec<String> {
    let mut pairs: Vec<String> = details
        .iter()
        .map(|detail| {
            let mut pair = format!(
                "{}/{}",
                detail["account"].as_str().unwrap_or("?"),
                detail["region"].as_str().unwrap_or("?")
            );
            if let Some(name) = detail["repositoryName"].as_str() {
                pair.push_str(&format!(" {name}"));
            }
            pair
        })
        .collect();
    pairs.sort();
    pairs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workloads_in_other_accounts_protect_the_central_registry() {
    let org = start().await;
    let sweeper = org.sweeper(config(json!([]))).await;
    let now = Utc::now();
    org.calls.clear();

    // 1. The schedule starts a run: one Gather In Use per target, the hub included.
    sweeper
        .handle_event(&scheduled(), now, Budget::unlimited())
        .await
        .expect("run started");
    let events = org.bus.events(5).await;
    let (gathers, _) = org.deliver(&sweeper, &events, "Gather In Use", now).await;
    assert_eq!(
        pairs(&gathers),
        [
            format!("{A}/{WEST}"),
            format!("{A}/{EAST}"),
            format!("{ACCOUNT}/{EAST}"),
            format!("{B}/{EAST}"),
            format!("{C}/{WEST}"),
        ]
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    assert!(gathers.iter().all(|detail| detail["targets"] == 5));

    // 2. The last gatherer assembled the snapshot: one Sweep Target per target.
    let events = org.bus.events(5).await;
    let (targets, _) = org.deliver(&sweeper, &events, "Sweep Target", now).await;
    assert_eq!(pairs(&targets).len(), 5, "{targets:?}");

    // 3. Only A has repositories: one Sweep Repository per Region, naming all three.
    let events = org.bus.events(2).await;
    let sweeps: Vec<Value> = events
        .iter()
        .filter(|event| event["detail-type"] == "Sweep Repository")
        .cloned()
        .collect();
    assert_eq!(
        pairs(
            &sweeps
                .iter()
                .map(|event| event["detail"].clone())
                .collect::<Vec<_>>()
        ),
        [
            format!("{A}/{WEST} {REPOSITORY}"),
            format!("{A}/{EAST} {REPOSITORY}")
        ]
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );

    let fanned_out = org.calls.cost();

    // Members may put events on the janitor bus (to forward theirs), so a janitor
    // event is only taken from the hub's account: a forged continuation from D, as of
    // a year from now, is rejected.
    let mut forged = sweeps[0].clone();
    forged["account"] = json!(D);
    forged["detail"]["continuation"] =
        json!({"asOf": "2027-12-03T00:00:00Z", "listedAt": "2027-12-03T00:00:00Z"});
    let rejected = sweeper
        .handle_event(&forged, now, Budget::unlimited())
        .await
        .expect("rejected, not failed");
    assert_eq!(rejected["rejected"]["field"], "account", "{rejected}");
    assert_eq!(org.calls.cost(), fanned_out);

    // A sweep later than the snapshot's maximum age acts on nothing and says why.
    let late = now + Duration::minutes(61);
    let (_, results) = org
        .deliver(&sweeper, &sweeps[..1], "Sweep Repository", late)
        .await;
    let skipped = results[0]["repositories"][0]["skipped"]
        .as_str()
        .unwrap_or_default();
    assert!(skipped.contains("more than 60 minutes"), "{skipped}");
    assert_eq!(
        tags_left(&org.hub, A, EAST).await,
        tags(&["v1", "v2", "v3"])
    );
    let _ = org.bus.events(1).await;
    org.calls.clear();

    // 4. Each repository is swept against the snapshot: v1 stays in each Region for
    // the workload in B or C that holds it, v2 expires, v3 is the newest.
    let (_, results) = org
        .deliver(&sweeper, &sweeps, "Sweep Repository", now)
        .await;
    for result in &results {
        let summary = &result["repositories"][0];
        assert_eq!(summary["expired"], 1, "{summary}");
        assert_eq!(summary["account"], A, "{summary}");
        assert!(summary["inUseSnapshot"]
            .as_str()
            .unwrap_or_default()
            .starts_with("run "));
        let reasons = summary["protectedImages"].to_string();
        let holder = if summary["region"] == EAST {
            "ECS service prod/web"
        } else {
            "Lambda function payments"
        };
        assert!(reasons.contains(holder), "{reasons}");
        let holder_account = if summary["region"] == EAST { B } else { C };
        assert!(reasons.contains(holder_account), "{reasons}");
    }
    assert_eq!(tags_left(&org.hub, A, EAST).await, tags(&["v1", "v3"]));
    assert_eq!(tags_left(&org.hub, A, WEST).await, tags(&["v1", "v3"]));
    // D is not a target: nothing was read or done there.
    assert_eq!(
        tags_left(&org.hub, D, EAST).await,
        tags(&["v1", "v2", "v3"])
    );

    // The run cost what the formula says: 5 targets (the hub and 4 reached through a
    // role), A's two Regions with one repository each.
    let swept = org.calls.cost();
    let made = RunCost {
        invocations: 1 + gathers.len() + targets.len() + results.len(),
        put_events: fanned_out.put_events + swept.put_events,
        list_accounts: fanned_out.list_accounts + swept.list_accounts,
        assume_role: fanned_out.assume_role + swept.assume_role,
        get_caller_identity: fanned_out.get_caller_identity + swept.get_caller_identity,
        s3_put_object: fanned_out.s3_put_object + swept.s3_put_object,
        s3_list_objects: fanned_out.s3_list_objects + swept.s3_list_objects,
        s3_get_object: fanned_out.s3_get_object + swept.s3_get_object,
        describe_repositories: fanned_out.describe_repositories + swept.describe_repositories,
    };
    let shape = RunShape {
        organization_accounts: None,
        member_targets: 4,
        repositories: vec![(0, 0), (1, 1), (1, 1), (0, 0), (0, 0)],
        // B names A's us-east-1 registry, C A's eu-west-1 one.
        shards: 2,
    };
    assert_eq!(made, shape.cost());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_member_stops_every_sweep_of_the_run() {
    let org = start().await;
    let sweeper = org
        .sweeper(config(json!([{"account": E, "regions": [EAST]}])))
        .await;
    let now = Utc::now();
    sweeper
        .handle_event(&scheduled(), now, Budget::unlimited())
        .await
        .expect("run started");
    let events = org.bus.events(6).await;
    let (_, results) = org.deliver(&sweeper, &events, "Gather In Use", now).await;
    let unreachable: Vec<&Value> = results
        .iter()
        .filter_map(|result| result["stage"].get("unreachable"))
        .collect();
    assert_eq!(unreachable.len(), 1, "{results:?}");
    assert!(unreachable[0]
        .as_str()
        .unwrap_or_default()
        .contains("AccessDenied"));
    let events = org.bus.events(6).await;
    org.deliver(&sweeper, &events, "Sweep Target", now).await;
    let events = org.bus.events(2).await;
    let (_, results) = org
        .deliver(&sweeper, &events, "Sweep Repository", now)
        .await;
    assert_eq!(results.len(), 2);
    for result in &results {
        let skipped = result["repositories"][0]["skipped"]
            .as_str()
            .unwrap_or_default();
        assert!(
            skipped.contains(&format!(
                "{E}/{EAST} target: cannot assume arn:aws:iam::{E}:role/ecr-janitor-member"
            )),
            "{skipped}"
        );
    }
    assert_eq!(
        tags_left(&org.hub, A, EAST).await,
        tags(&["v1", "v2", "v3"])
    );
    assert_eq!(
        tags_left(&org.hub, A, WEST).await,
        tags(&["v1", "v2", "v3"])
    );
}

#[test]
fn member_events_act_in_the_member_and_others_are_ignored() {
    run_on_large_stack(member_events);
}

async fn member_events() {
    let org = start().await;
    let config = config(json!([]));
    let directory = Arc::new(
        TargetDirectory::for_installation(&org.hub, config.targets.as_ref(), "tag-enforcer")
            .await
            .expect("directory")
            .expect("targets"),
    );
    create_event_bus(&org.hub, "enforcer-bus").await;
    let enforcer = TagEnforcer::new(
        aws_sdk_ecr::Client::new(&org.hub),
        janitor::aws::bus::EventBus::new(aws_sdk_eventbridge::Client::new(&org.hub), BUS),
        config.clone(),
    )
    .with_targets(directory.clone());

    // A push of the forbidden `latest` in A (forwarded to the hub) deletes it in A; the
    // same push in D, not a target, is ignored there.
    for account in [A, D] {
        let ecr = aws_sdk_ecr::Client::new(&member_sdk(&org.hub, account, EAST).await);
        push_image(&ecr, REPOSITORY, 9, Some("latest")).await;
    }
    let digest = |account: &str| {
        let hub = org.hub.clone();
        let account = account.to_owned();
        async move {
            let ecr = aws_sdk_ecr::Client::new(&member_sdk(&hub, &account, EAST).await);
            images(&ecr, REPOSITORY)
                .await
                .into_iter()
                .find(|(_, tags)| tags.contains(&"latest".to_owned()))
                .map(|(digest, _)| digest)
                .expect("latest pushed")
        }
    };
    for (account, outcome) in [(A, "violation"), (D, "notATarget")] {
        let mut event = sample_event("ecr-image-action-push-success.json");
        event["account"] = json!(account);
        event["region"] = json!(EAST);
        event["detail"]["repository-name"] = json!(REPOSITORY);
        event["detail"]["image-tag"] = json!("latest");
        event["detail"]["image-digest"] = json!(digest(account).await);
        let decision = enforcer.handle(event).await.expect("handled");
        let decision = serde_json::to_value(&decision).expect("json");
        assert_eq!(decision["outcome"], outcome, "{decision}");
    }
    assert_eq!(
        tags_left(&org.hub, A, EAST).await,
        tags(&["v1", "v2", "v3"])
    );
    assert_eq!(
        tags_left(&org.hub, D, EAST).await,
        tags(&["latest", "v1", "v2", "v3"])
    );

    // An Inspector finding in A is imported into A's Security Hub as A's; one from D
    // is ignored.
    let forwarder = ScanForwarder::new(
        config.scan.clone(),
        aws_sdk_ecr::Client::new(&org.hub),
        aws_sdk_securityhub::Client::new(&org.hub),
        janitor::aws::bus::EventBus::new(aws_sdk_eventbridge::Client::new(&org.hub), BUS),
    )
    .with_targets(directory);
    let hub_caller = Caller {
        account_id: ACCOUNT.to_owned(),
        region: EAST.to_owned(),
    };
    for (account, imported) in [(A, 1), (D, 0)] {
        let mut event = sample_event("inspector2-finding-ecr-package-vulnerability.json");
        event["account"] = json!(account);
        event["region"] = json!(EAST);
        let report = forwarder
            .handle(&event, &hub_caller, Utc::now())
            .await
            .expect("handled");
        assert_eq!(report.imported, imported, "{account}: {report:?}");
    }
    let member_hub = aws_sdk_securityhub::Client::new(&member_sdk(&org.hub, A, EAST).await);
    let findings = member_hub.get_findings().send().await.expect("findings");
    let finding = findings.findings().first().expect("one finding in A");
    assert_eq!(finding.aws_account_id(), Some(A));
    assert_eq!(
        finding.product_arn(),
        Some(format!("arn:aws:securityhub:{EAST}:{A}:product/{A}/default").as_str())
    );
    let hub_findings = aws_sdk_securityhub::Client::new(&org.hub)
        .get_findings()
        .send()
        .await
        .expect("findings");
    assert!(hub_findings.findings().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_discovery_serves_active_accounts_that_are_not_excluded() {
    let moto = Moto::start();
    let hub = test_sdk_config(&moto.endpoint()).await;
    let organizations = aws_sdk_organizations::Client::new(&hub);
    organizations
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("organization");
    let mut created = Vec::new();
    for name in ["kept", "excluded", "closed"] {
        let status = organizations
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .expect("account");
        created.push(
            status
                .create_account_status()
                .and_then(|status| status.account_id())
                .expect("account id")
                .to_owned(),
        );
    }
    organizations
        .close_account()
        .account_id(&created[2])
        .send()
        .await
        .expect("close");
    let targets =
        json!({"organization": {"regions": [EAST, WEST], "excludeAccounts": [created[1]]}});
    let config = JanitorConfig::from_json(
        &json!({"targets": targets}).to_string(),
        ConfigSource::Inline,
    )
    .expect("valid");
    let directory =
        TargetDirectory::for_installation(&hub, config.targets.as_ref(), "lifecycle-sweeper")
            .await
            .expect("directory")
            .expect("targets");
    let served: Vec<String> = directory
        .all()
        .await
        .expect("listed")
        .iter()
        .map(|access| {
            format!(
                "{} {}",
                access.target,
                access.role_name.as_deref().unwrap_or("(hub)")
            )
        })
        .collect();
    // The organization's management account is the hub itself: its own credentials.
    assert_eq!(
        served,
        [
            format!("{ACCOUNT}/{EAST} (hub)"),
            format!("{ACCOUNT}/{WEST} (hub)"),
            format!("{}/{EAST} ecr-janitor-member", created[0]),
            format!("{}/{WEST} ecr-janitor-member", created[0]),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_covers_every_target_against_every_target_s_workloads() {
    let org = start().await;
    let config = config(json!([]));
    let sweeper = Sweeper::from_sdk_config(&org.hub, config.clone(), None);
    let directory = TargetDirectory::for_installation(&org.hub, config.targets.as_ref(), "report")
        .await
        .expect("directory")
        .expect("targets");
    let (selected, in_use) = gather::select_targets(&sweeper, &directory)
        .await
        .expect("selected");
    assert!(in_use.failed.is_empty(), "{:?}", in_use.failed);
    let prices = AppliedPrices::resolve(EAST, None, PriceOverrides::default()).expect("prices");
    let report = gather::report(
        &sweeper,
        &selected,
        in_use,
        Utc::now(),
        prices,
        |_, _, _| {},
    )
    .await;
    let report = serde_json::to_value(&report).expect("json");
    let repositories = report["repositories"].as_array().expect("repositories");
    let seen: Vec<(String, String, String, u64)> = repositories
        .iter()
        .map(|repository| {
            (
                repository["account"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                repository["region"].as_str().unwrap_or_default().to_owned(),
                repository["repositoryName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                repository["expire"]["images"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    // D is no target; in each of A's Regions v2 would expire and v1 stays for B or C.
    assert_eq!(
        seen,
        [
            (A.to_owned(), WEST.to_owned(), REPOSITORY.to_owned(), 1),
            (A.to_owned(), EAST.to_owned(), REPOSITORY.to_owned(), 1),
        ]
    );
    let holders: Vec<String> = repositories
        .iter()
        .map(|repository| repository["protectedImages"][0]["reason"].to_string())
        .collect();
    assert!(
        holders[0].contains(&format!("Lambda function payments:$LATEST in {C}/{WEST}")),
        "{holders:?}"
    );
    assert!(
        holders[1].contains(&format!(
            "ECS service prod/web (task definition web:1) in {B}/{EAST}"
        )),
        "{holders:?}"
    );
    // Nothing was acted on.
    assert_eq!(
        tags_left(&org.hub, A, EAST).await,
        tags(&["v1", "v2", "v3"])
    );
}
